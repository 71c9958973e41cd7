package BB;

# Seeds and inspects the real Redis behind the tests, following the data
# contract in docs/redis-data-model.md.  Called from "--- init" sections
# with fully qualified names (BB::token(...)), which work under the real
# Test::Nginx::Socket as well.  Also runs private servers for fault tests.

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use IO::Socket::UNIX;
use JSON::PP ();
use Digest::SHA qw(sha256_hex hmac_sha256 hmac_sha384 hmac_sha512);
use MIME::Base64 qw(encode_base64);
use POSIX ();
use Time::HiRes qw(sleep time);

our $Prefix = 'bb:';
my $Json = JSON::PP->new->canonical;

our $Port;
our $Db = 0;      # database the helpers write to
our $Auth;        # [password] or [user, password] for private servers
our @Cluster;     # the nodes of a cluster the helpers write to, if any
our $Asking;      # ASKING ahead of the command (a redirection by ASK)

sub port { $Port || $ENV{TEST_NGINX_REDIS_PORT} || 6390 }

# The backend that protected locations proxy to: it echoes what it got,
# so tests see exactly which identity reached it.
our $Backend = <<'END';
    server {
        listen 127.0.0.1:$TEST_NGINX_BACKEND_PORT;

        location / {
            return 200 "backend $request_method $request_uri patient=[$http_bluebutton_beneficiaryid] client=[$http_bluebutton_applicationid] app=[$http_bluebutton_application] authorization=[$http_authorization]\n";
        }
    }
END

# For add_block_preprocessor(\&BB::defaults): Redis at http level unless
# the block says otherwise, and the echo backend for blocks that run.
sub defaults {
    my ($block) = @_;
    my $http = $block->http_config;

    $http = 'bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;'
        unless defined $http;

    $http .= "\n$Backend" unless defined $block->must_die;

    $block->set_value('http_config', $http);
}

sub command {
    my ($port, @args) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 2)
        or die "redis on port $port: $!\n";

    my $req = '';
    my @pre = (($Auth ? (['AUTH', @$Auth]) : ()), ($Db ? (['SELECT', $Db]) : ()),
               ($Asking ? (['ASKING']) : ()));
    for my $cmd (@pre, \@args) {
        $req .= '*' . @$cmd . "\r\n";
        $req .= '$' . length($_) . "\r\n$_\r\n" for @$cmd;
    }
    print $s $req;

    read_reply($s) for @pre;
    my $reply = read_reply($s);
    close $s;
    return $reply;
}

sub read_reply {
    my ($s) = @_;
    my $line = <$s>;
    die "redis closed the connection\n" unless defined $line;
    $line =~ s/\r\n\z//;
    my ($type, $rest) = (substr($line, 0, 1), substr($line, 1));

    return $rest if $type eq '+' || $type eq ':';
    die "redis: $rest\n" if $type eq '-';

    if ($type eq '$') {
        return undef if $rest < 0;
        my $data = '';
        read($s, $data, $rest + 2);
        return substr($data, 0, $rest);
    }

    if ($type eq '*') {
        return undef if $rest < 0;
        return [map { read_reply($s) } 1 .. $rest];
    }

    die "redis: unexpected reply \"$line\"\n";
}

sub redis { @Cluster ? cluster_command(@_) : command(port(), @_) }

sub flush {
    return redis('FLUSHALL') unless @Cluster;
    for my $p (@Cluster) { eval { command($p, 'FLUSHALL') } }
}

# A one-key command to a cluster: to any node, then where MOVED or ASK
# send it, as a cluster client would.
sub cluster_command {
    my @args = @_;
    my ($port, $ask, $next) = ($Cluster[0], 0, 0);
    for (1 .. 10) {
        my $reply = eval { local $Asking = $ask; command($port, @args) };
        return $reply unless $@;
        if ($@ =~ /^redis on port \d+:/ && ++$next < @Cluster) {
            # a node that is down: another one redirects
            ($port, $ask) = ($Cluster[$next], 0);
            redo;
        }
        if ($@ =~ /^redis: (MOVED|ASK) \d+ [\d.]*:(\d+)/) {
            ($port, $ask) = ($2, $1 eq 'ASK');
            next;
        }
        if ($@ =~ /^redis: (TRYAGAIN|CLUSTERDOWN)/) {
            sleep 0.05;
            next;
        }
        die $@;
    }
    die "redis cluster: too many redirections for @args\n";
}

sub token_key { $Prefix . 'token:' . sha256_hex($_[0]) }

sub grant_key { $Prefix . "grant:$_[0]:$_[1]" }

# BB::token('secret', patient => '-1', client_id => 'app', scope => '...')
sub token {
    my ($token, %rec) = @_;
    my $ttl = delete $rec{ttl};

    $rec{patient} = '-20140000008325' unless exists $rec{patient};
    $rec{client_id} = 'app-1' unless exists $rec{client_id};
    $rec{scope} = 'patient/Patient.read patient/Coverage.read '
                  . 'patient/ExplanationOfBenefit.read profile'
        unless exists $rec{scope};
    $rec{exp} = time() + 3600 unless exists $rec{exp};
    $rec{iat} = int(time()) - 60 unless exists $rec{iat};
    $rec{exp} = int $rec{exp} if defined $rec{exp};

    for (keys %rec) { delete $rec{$_} unless defined $rec{$_} }

    set(token_key($token), $Json->encode(\%rec), $ttl);
}

# BB::grant('app-1', '-20140000008325', expires => ...)
sub grant {
    my ($client, $patient, %g) = @_;
    $g{created} = int(time()) - 3600 unless exists $g{created};
    for (keys %g) { delete $g{$_} unless defined $g{$_} }
    set(grant_key($client, $patient), $Json->encode(\%g));
}

# a token and the grant behind it, the usual allowed case
sub consent {
    my ($token, %rec) = @_;
    token($token, %rec);
    grant($rec{client_id} || 'app-1', $rec{patient} || '-20140000008325');
}

sub set {
    my ($key, $value, $ttl) = @_;
    return redis('SET', $key, $value, 'EX', $ttl) if $ttl;
    return redis('SET', $key, $value);
}

sub del { redis('DEL', @_) }

sub get { redis('GET', @_) }

sub revoke_grant { del(grant_key(@_)) }

sub revoke_token { del(token_key($_[0])) }

# JWT keys and tokens ---------------------------------------------------
#
# Keys are made with the openssl command line, once per test run, in
# $TEST_NGINX_KEYS_DIR; tokens are signed with it too, so that what the
# module verifies was produced by another implementation.

our %Keys = (
    rsa1  => ['RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
    rsa2  => ['RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
    ec256 => ['EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    ec384 => ['EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
    ec521 => ['EC', '-pkeyopt', 'ec_paramgen_curve:P-521'],
    ed    => ['ED25519'],
);

our $HmacSecret = 'a-test-only-hmac-secret-of-40-bytes-0123';

sub keys_dir { $ENV{TEST_NGINX_KEYS_DIR} or die "TEST_NGINX_KEYS_DIR is not set\n" }

sub b64url {
    my $s = encode_base64($_[0], '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

sub openssl {
    my @cmd = ('openssl', @_);
    my $out = qx{@{[ join ' ', map { "'$_'" } @cmd ]} 2>&1};
    die "@cmd: $out" if $?;
    return $out;
}

sub hex_bytes {
    my ($text) = @_;
    $text =~ s/[^0-9a-fA-F]//g;
    return pack 'H*', $text;
}

# the public half of a key as a JWK
sub jwk {
    my ($name, %extra) = @_;
    make_keys();
    my $dir = keys_dir();
    my $type = $Keys{$name}[0];
    my %jwk = (kid => $name, %extra);

    if ($type eq 'RSA') {
        my ($mod) = openssl('rsa', '-in', "$dir/$name.pem", '-noout',
                            '-modulus') =~ /Modulus=([0-9A-F]+)/;
        %jwk = (kty => 'RSA', n => b64url(hex_bytes($mod)), e => 'AQAB', %jwk);

    } else {
        my $text = openssl('pkey', '-in', "$dir/$name.pem", '-pubout',
                           '-noout', '-text');
        my ($pub) = $text =~ /pub:\s*\n((?:\s+[0-9a-f:]+\n)+)/;
        my $bytes = hex_bytes($pub);

        if ($type eq 'ED25519') {
            %jwk = (kty => 'OKP', crv => 'Ed25519', x => b64url($bytes), %jwk);
        } else {
            my $half = (length($bytes) - 1) / 2;
            my $crv = { 32 => 'P-256', 48 => 'P-384', 66 => 'P-521' }->{$half};
            %jwk = (kty => 'EC', crv => $crv,
                    x => b64url(substr($bytes, 1, $half)),
                    y => b64url(substr($bytes, 1 + $half, $half)), %jwk);
        }
    }

    for (keys %jwk) { delete $jwk{$_} unless defined $jwk{$_} }
    return \%jwk;
}

sub write_file {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh;
}

# Makes the keys (once) and writes the named JWKS file from JWKs.
sub jwks {
    my ($file, @jwks) = @_;
    make_keys();
    write_file(keys_dir() . "/$file", $Json->encode({ keys => \@jwks }));
}

sub make_keys {
    my $dir = keys_dir();
    return if -f "$dir/done";

    for my $name (sort keys %Keys) {
        my ($alg, @opts) = @{ $Keys{$name} };
        openssl('genpkey', '-algorithm', $alg, @opts, '-out', "$dir/$name.pem");
        openssl('pkey', '-in', "$dir/$name.pem", '-pubout', '-out',
                "$dir/$name.pub");
    }

    write_file("$dir/done", '');
}

sub hmac_jwk {
    return { kty => 'oct', kid => 'hs', k => b64url($_[0] || $HmacSecret) };
}

# BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1', claims => {...},
#         header => {...}) returns a signed compact JWS
sub jwt {
    my (%o) = @_;
    my $alg = $o{alg};
    my %header = (alg => $alg, typ => 'at+jwt');
    $header{kid} = $o{kid} if defined $o{kid};
    %header = (%header, %{ $o{header} || {} });
    for (keys %header) { delete $header{$_} unless defined $header{$_} }

    my %claims = (
        iss => 'https://auth.example', aud => 'https://api.example',
        sub => '-20140000008325', client_id => 'app-1',
        scope => 'patient/Patient.read patient/ExplanationOfBenefit.read',
        iat => int(time()) - 10, exp => int(time()) + 600,
        jti => 'jti-' . int(rand(1e9)),
        %{ $o{claims} || {} },
    );
    for (keys %claims) { delete $claims{$_} unless defined $claims{$_} }

    my $input = b64url($Json->encode(\%header)) . '.'
                . b64url($Json->encode(\%claims));

    return "$input." . b64url(sign($alg, $o{key}, $input));
}

# a token whose signature is all 0xff bytes of the right length: a value
# over the RSA modulus or the curve's order, which OpenSSL refuses with an
# error of its own rather than a plain mismatch
sub forged {
    my (%o) = @_;
    my ($input) = jwt(%o) =~ /^([^.]+\.[^.]+)\./;
    my $len = { RS256 => 256, PS256 => 256, ES256 => 64 }->{$o{alg}}
        or die "forged: no length for $o{alg}\n";

    return "$input." . b64url("\xff" x $len);
}

sub sign {
    my ($alg, $key, $input) = @_;
    my $dir = keys_dir();
    my ($bits) = $alg =~ /(\d+)$/;

    if ($alg =~ /^HS/) {
        my $secret = defined $key ? $key : $HmacSecret;
        return $bits == 256 ? hmac_sha256($input, $secret)
             : $bits == 384 ? hmac_sha384($input, $secret)
             : hmac_sha512($input, $secret);
    }

    my $in = "$dir/input.$$";
    my $sig = "$dir/sig.$$";
    write_file($in, $input);

    if ($alg eq 'EdDSA') {
        openssl('pkeyutl', '-sign', '-rawin', '-inkey', "$dir/$key.pem",
                '-in', $in, '-out', $sig);
    } else {
        my @pss = $alg =~ /^PS/
            ? ('-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:digest')
            : ();
        openssl('dgst', "-sha$bits", '-sign', "$dir/$key.pem", @pss,
                '-out', $sig, $in);
    }

    my $out = do { local (@ARGV, $/) = ($sig); <> };
    unlink $in, $sig;

    return $alg =~ /^ES/ ? der_to_jose($out, $bits == 512 ? 66 : $bits / 8)
                         : $out;
}

# ECDSA-Sig-Value (DER) to JOSE's R || S
sub der_to_jose {
    my ($der, $size) = @_;
    my $pos = 2;
    $pos++ if ord(substr($der, 1, 1)) & 0x80;
    my @ints;

    for (1 .. 2) {
        die "not an INTEGER" unless ord(substr($der, $pos, 1)) == 2;
        my $len = ord(substr($der, $pos + 1, 1));
        my $v = substr($der, $pos + 2, $len);
        $v =~ s/^\x00+//;
        push @ints, ("\x00" x ($size - length $v)) . $v;
        $pos += 2 + $len;
    }

    return join '', @ints;
}

# private servers for fault tests --------------------------------------

my %Servers;

sub start_redis {
    my ($port, @args) = @_;
    stop_redis($port);

    my $dir = "$ENV{TEST_NGINX_REDIS_DIR}/$port";
    mkdir $dir;
    system('redis-server', '--port', $port, '--bind', '127.0.0.1',
           '--save', '', '--appendonly', 'no', '--daemonize', 'yes',
           '--dir', $dir, '--pidfile', "$dir/redis.pid",
           '--logfile', "$dir/redis.log", '--enable-debug-command', 'local',
           @args) == 0 or die "redis-server on port $port did not start\n";

    my $deadline = time + 5;
    while (time < $deadline) {
        my $ok = eval { command($port, 'PING') };
        return 1 if ($ok && $ok eq 'PONG') || $@ =~ /NOAUTH/;
        sleep 0.02;
    }

    die "redis-server on port $port does not answer\n";
}

sub stop_redis {
    my ($port) = @_;
    my $pid = kill_redis($port) or return;

    # gone, or a zombie nobody reaped yet whose threads have all ended
    # (they hold its sockets until then): either way it serves nothing
    my $deadline = time + 5;
    while (kill(0, $pid) && time < $deadline) {
        open my $st, '<', "/proc/$pid/stat" or last;
        my $state = (split ' ', scalar <$st>)[2];
        opendir my $tasks, "/proc/$pid/task" or last;
        my $threads = grep { !/^\./ } readdir $tasks;
        last if $state eq 'Z' && $threads <= 1;
        sleep 0.01;
    }
}

# SIGKILL and return at once: a server that dies under load
sub kill_redis {
    my ($port) = @_;
    my $pidfile = "$ENV{TEST_NGINX_REDIS_DIR}/$port/redis.pid";
    open my $fh, '<', $pidfile or return;
    chomp(my $pid = <$fh> || '');
    close $fh;
    return unless $pid;

    kill 'KILL', $pid;
    unlink $pidfile;
    return $pid;
}

# Redis Cluster: nodes on loopback made into a cluster by redis-cli
# --cluster create, one replica for each primary (the first half of the
# ports are the primaries).  %o: node_timeout (ms), tls (each node also
# listens for TLS on its port + 100, and the cluster bus and replication
# speak TLS), args (more for every redis-server).  Returns once every
# node says the cluster is ok and knows every other.
sub start_cluster {
    my ($ports, %o) = @_;
    my $tls = $o{tls} ? tls_files() : undef;
    @Cluster = ();

    for my $port (@$ports) {
        stop_redis($port);
        unlink "$ENV{TEST_NGINX_REDIS_DIR}/$port/nodes.conf";
        start_redis($port, '--cluster-enabled', 'yes',
                    '--cluster-config-file', 'nodes.conf',
                    '--cluster-node-timeout', $o{node_timeout} || 1000,
                    ($tls ? ('--tls-port', $port + 100,
                             '--tls-cert-file', "$tls/server.crt",
                             '--tls-key-file', "$tls/server.key",
                             '--tls-ca-cert-file', "$tls/ca.crt",
                             '--tls-auth-clients', 'no',
                             '--tls-cluster', 'yes',
                             '--tls-replication', 'yes') : ()),
                    @{ $o{args} || [] });
    }

    my $out = `redis-cli --cluster create @{[ map { "127.0.0.1:$_" } @$ports ]} --cluster-replicas 1 --cluster-yes 2>&1`;
    die "redis-cli --cluster create failed:\n$out" if $?;

    my $deadline = time + 20;
    for my $port (@$ports) {
        until (eval {
                   my $info = command($port, 'CLUSTER', 'INFO');
                   $info =~ /cluster_state:ok/
                       && $info =~ /cluster_known_nodes:(\d+)/
                       && $1 == @$ports;
               })
        {
            die "cluster node $port is not ready\n" if time > $deadline;
            sleep 0.05;
        }
    }

    @Cluster = @$ports;
    cluster_synced();
}

# the replicas have what their primaries have
sub cluster_synced {
    my $deadline = time + 10;
    for my $port (@Cluster) {
        my $role = eval { command($port, 'ROLE') } or next;
        next unless $role->[0] eq 'slave';
        until ((command($port, 'ROLE')->[3] || '') eq 'connected') {
            die "replica $port did not sync\n" if time > $deadline;
            sleep 0.05;
        }
    }
}

# a node of the cluster that answers
sub live_node {
    for my $port (@Cluster) {
        return $port if eval { command($port, 'PING') };
    }
    die "no node of the cluster answers\n";
}

# the port of the primary that serves a key's slot
sub primary_of_key {
    my ($key) = @_;
    my $node = live_node();
    my $slot = command($node, 'CLUSTER', 'KEYSLOT', $key);
    for my $range (@{ command($node, 'CLUSTER', 'SLOTS') }) {
        return $range->[2][1] if $slot >= $range->[0] && $slot <= $range->[1];
    }
    die "no primary serves slot $slot\n";
}

# moves a key's slot from its primary to another primary, key by key as
# redis-cli --cluster reshard does (SETSLOT IMPORTING/MIGRATING, MIGRATE,
# SETSLOT NODE); $between runs while the slot is half moved
sub move_slot {
    my ($key, $to, $between) = @_;
    my $from = primary_of_key($key);
    my $slot = command($from, 'CLUSTER', 'KEYSLOT', $key);
    my $id = sub { command($_[0], 'CLUSTER', 'MYID') };
    my ($from_id, $to_id) = ($id->($from), $id->($to));

    command($to, 'CLUSTER', 'SETSLOT', $slot, 'IMPORTING', $from_id);
    command($from, 'CLUSTER', 'SETSLOT', $slot, 'MIGRATING', $to_id);
    $between->() if $between;
    while (my @keys = @{ command($from, 'CLUSTER', 'GETKEYSINSLOT', $slot, 100) }) {
        command($from, 'MIGRATE', '127.0.0.1', $to, '', 0, 5000, 'KEYS', @keys);
    }
    for my $port (@Cluster) {
        my $role = eval { command($port, 'ROLE') } or next;
        next unless $role->[0] eq 'master';
        command($port, 'CLUSTER', 'SETSLOT', $slot, 'NODE', $to_id);
    }
    return $from;
}

# Test certificates made with the openssl command line, once per run:
# a CA, a server certificate for redis.test and 127.0.0.1, a client
# certificate, an unrelated CA, and a server certificate signed by an
# intermediate CA (server-chain.crt holds both).  Returns their directory.
sub tls_files {
    my $dir = "$ENV{TEST_NGINX_REDIS_DIR}/tls";
    return $dir if -f "$dir/server-chain.crt";
    mkdir $dir;

    my $ec = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes';
    my $run = sub {
        system("openssl $_[0] >/dev/null 2>&1") == 0
            or die "openssl $_[0]: failed\n";
    };

    for my $ca (qw(ca other-ca)) {
        $run->("req -x509 $ec -days 2 -subj /CN=bluebutton-test-$ca "
               . "-keyout $dir/$ca.key -out $dir/$ca.crt");
    }

    write_file("$dir/server.ext",
               "subjectAltName=DNS:redis.test,IP:127.0.0.1\n");
    write_file("$dir/client.ext", "extendedKeyUsage=clientAuth\n");
    write_file("$dir/inter.ext", "basicConstraints=critical,CA:TRUE\n");

    for ([qw(server ca server)], [qw(client ca client)],
         [qw(inter ca inter)], [qw(server-leaf inter server)])
    {
        my ($who, $ca, $ext) = @$_;
        $run->("req $ec -subj /CN=$who.redis.test -keyout $dir/$who.key "
               . "-out $dir/$who.csr");
        $run->("x509 -req -days 2 -in $dir/$who.csr -CA $dir/$ca.crt "
               . "-CAkey $dir/$ca.key -CAcreateserial -extfile $dir/$ext.ext "
               . "-out $dir/$who.crt");
    }

    system("cat $dir/server-leaf.crt $dir/inter.crt > $dir/server-chain.crt") == 0
        or die "server-chain.crt: failed\n";

    return $dir;
}

# A Redis with a TLS port beside a clear one that the tests seed through;
# $cert is "server" (the CA signed it) or "server-chain" (an intermediate).
sub start_tls_redis {
    my ($port, $tls_port, @args) = @_;
    my $dir = tls_files();
    my $cert = @args && $args[0] !~ /^--/ ? shift @args : 'server';
    (my $key = $cert) =~ s/-chain$/-leaf/;

    start_redis($port, '--tls-port', $tls_port,
                '--tls-cert-file', "$dir/$cert.crt",
                '--tls-key-file', "$dir/$key.key",
                '--tls-ca-cert-file', "$dir/ca.crt",
                '--tls-auth-clients', 'no', @args);
}

# Redis Sentinel: a primary, a replica of it and sentinels on loopback,
# with a short down-after-milliseconds; returns once every sentinel knows
# the replica and the other sentinels (failover needs both).
our $Master = 'bbmaster';

sub start_sentinels {
    my ($primary, $replica, $sentinels, %o) = @_;
    stop_redis($_) for @$sentinels;

    # the replica holds what the primary holds before anything happens
    start_redis($primary, '--repl-diskless-sync-delay', 0);
    start_redis($replica, '--replicaof', '127.0.0.1', $primary,
                '--repl-diskless-sync-delay', 0);
    my $synced = time + 10;
    until ((command($replica, 'ROLE')->[3] || '') eq 'connected') {
        die "replica $replica did not sync\n" if time > $synced;
        sleep 0.05;
    }

    for my $port (@$sentinels) {
        my $dir = "$ENV{TEST_NGINX_REDIS_DIR}/$port";
        mkdir $dir;
        write_file("$dir/sentinel.conf", <<END . ($o{password} ? <<END2 : ''));
port $port
bind 127.0.0.1
daemonize yes
pidfile $dir/redis.pid
logfile $dir/sentinel.log
dir $dir
sentinel monitor $Master 127.0.0.1 $primary 2
sentinel down-after-milliseconds $Master 500
sentinel failover-timeout $Master 3000
sentinel parallel-syncs $Master 1
END
requirepass "$o{password}"
sentinel sentinel-pass "$o{password}"
END2
        system('redis-server', "$dir/sentinel.conf", '--sentinel') == 0
            or die "sentinel on port $port did not start\n";
    }

    local $Auth = $o{password} ? [$o{password}] : $Auth;
    my $deadline = time + 20;

    for my $port (@$sentinels) {
        until (eval {
                   my $s = command($port, 'SENTINEL', 'sentinels', $Master);
                   my $r = command($port, 'SENTINEL', 'replicas', $Master);
                   @$s == @$sentinels - 1 && @$r == 1
                       && join(' ', @{ $r->[0] }) =~ /\bflags slave\b/;
               })
        {
            die "sentinel $port did not find its peers\n" if time > $deadline;
            sleep 0.1;
        }
    }
}

# One sentinel with a TLS port, watching a primary through its TLS port.
sub start_tls_sentinel {
    my ($port, $tls_port, $primary_tls) = @_;
    my $tls = tls_files();
    my $dir = "$ENV{TEST_NGINX_REDIS_DIR}/$port";
    stop_redis($port);
    mkdir $dir;

    write_file("$dir/sentinel.conf", <<END);
port $port
tls-port $tls_port
bind 127.0.0.1
daemonize yes
pidfile $dir/redis.pid
logfile $dir/sentinel.log
dir $dir
tls-cert-file $tls/server.crt
tls-key-file $tls/server.key
tls-ca-cert-file $tls/ca.crt
tls-auth-clients no
tls-replication yes
sentinel monitor $Master 127.0.0.1 $primary_tls 1
END
    system('redis-server', "$dir/sentinel.conf", '--sentinel') == 0
        or die "sentinel on port $port did not start\n";

    my $deadline = time + 10;
    until (eval { primary_of($port) == $primary_tls }) {
        die "sentinel $port does not see its primary\n" if time > $deadline;
        sleep 0.05;
    }
}

# the primary's port, as a sentinel names it now
sub primary_of {
    my ($sentinel) = @_;
    my $addr = command($sentinel, 'SENTINEL', 'get-master-addr-by-name',
                       $Master);
    return $addr ? $addr->[1] : 0;
}

# reads (GET, MGET, EVALSHA, EVAL) a server ran since its last RESETSTAT
sub lookups_on {
    my ($port) = @_;
    local $Port = $port;
    my $c = commands();
    my $n = 0;
    $n += $c->{$_} || 0 for qw(get mget evalsha eval);
    return $n;
}

# A steady stream of requests (every 20 ms, a valid token and one whose
# grant is gone) while $o{fault} happens; lasts until the valid token has
# been allowed again for half a second, or 20 s.  Returns counts: ok (200
# for the valid token), unavailable (503 with Retry-After), wrong (any
# other answer: a 401 for the valid token, an allow for the other, a 503
# without Retry-After), and the gap in ms from the fault to the first
# allow after it.
sub stream {
    my (%o) = @_;
    my %n = (ok => 0, unavailable => 0, wrong => 0, gap => -1);
    my ($fault, $back);
    my $start = time;

    while (time < $start + 20) {
        if (!defined $fault && time > $start + 0.3) {
            $o{fault}->();
            $fault = time;
        }

        for my $t ([$o{token}, 200], [$o{refused}, 401]) {
            my $res = http_get($o{path}, token => $t->[0]);

            if ($res->{status} == $t->[1]) {
                $n{ok}++ if $t->[1] == 200;
                if ($t->[1] == 200 && defined $fault && !defined $back) {
                    $back = time;
                    $n{gap} = int(($back - $fault) * 1000);
                }

            } elsif ($res->{status} == 503
                     && ($res->{headers}{'retry-after'} || '') =~ /^\d+$/)
            {
                $n{unavailable}++;

            } else {
                $n{wrong}++;
                print STDERR "# stream: $t->[0] got $res->{status}\n";
            }
        }

        last if defined $back && time > $back + 0.5;
        sleep 0.02;
    }

    return \%n;
}

# A peer on $port that accepts connections and then misbehaves:
# 'silent' never answers, 'garbage' answers with what is not RESP.
sub start_fake {
    my ($port, $mode) = @_;
    my @clients;

    serve($port, sub {
        my ($c) = @_;
        push @clients, $c;
        return if $mode eq 'silent';
        sysread $c, my $buf, 4096;
        syswrite $c, "this is not redis\r\n";
    });
}

# Listens on $port and hands each connection to $handler in a child
# process that lives at most a minute.
sub serve {
    my ($port, $handler) = @_;
    my $listen = listening($port);

    in_background($port, sub {
        while (my $c = $listen->accept) {
            $handler->($c);
        }
    });

    close $listen;
}

sub listening {
    my ($port) = @_;
    stop_fake($port);

    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => $port, Listen => 16,
                                       ReuseAddr => 1, Proto => 'tcp')
        or die "cannot listen on port $port: $!\n";

    return $listen;
}

# runs $loop in a child that lives at most a minute; stop_fake($port)
# ends it sooner
sub in_background {
    my ($port, $loop) = @_;

    my $pid = fork;
    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        local $SIG{ALRM} = sub { POSIX::_exit(0) };
        alarm 60;
        $loop->();
        POSIX::_exit(0);
    }

    $Servers{$port} = $pid;
}

# A relay on $port to the Redis on $to that holds every reply, by $delay
# seconds, on connections that have sent a read (GET, MGET, PTTL): a
# lookup answered late while the invalidation feed is not.
sub relay {
    my ($port, $to, $delay) = @_;
    my $listen = listening($port);

    in_background($port, sub {
        my $sel = IO::Select->new($listen);
        my (%peer, %upstream, %slow, @held);

        while (1) {
            my $wait = @held ? $held[0][0] - time : 1;
            for my $s ($sel->can_read($wait > 0 ? $wait : 0)) {
                if ($s == $listen) {
                    my $c = $listen->accept or next;
                    my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                                  PeerPort => $to)
                        or do { close $c; next };
                    @peer{$c, $u} = ($u, $c);
                    $upstream{$u} = 1;
                    $sel->add($c, $u);
                    next;
                }

                my $o = $peer{$s} or next;
                my $n = sysread $s, my $buf, 65536;

                if (!$n) {
                    $sel->remove($s, $o);
                    delete @peer{$s, $o};
                    close $s;
                    close $o;
                    next;
                }

                if ($upstream{$s}) {
                    if ($slow{$s}) {
                        push @held, [time + $delay, $o, $buf];
                    } else {
                        syswrite $o, $buf;
                    }
                } else {
                    $slow{$o} = 1 if $buf =~ /\r\n(?:M?GET|PTTL)\r\n/i;
                    syswrite $o, $buf;
                }
            }

            while (@held && $held[0][0] <= time) {
                my $h = shift @held;
                syswrite $h->[1], $h->[2] if $h->[1]->opened;
            }
        }
    });

    close $listen;
}

sub stop_fake {
    my ($port) = @_;
    my $pid = delete $Servers{$port} or return;
    kill 'KILL', $pid;
    waitpid $pid, 0;
}

# GET $path from the nginx under test (port: another of its ports), with
# a bearer token if given: { status, headers (lower-case names), body },
# status 0 when there was no answer.  For control actions that play a
# client while the block waits.
sub http_get {
    my ($path, %o) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $o{port}
                                      || $ENV{TEST_NGINX_SERVER_PORT} || 1984,
                                  Timeout => 2)
        or return { status => 0, headers => {}, body => '' };
    print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n"
             . ($o{token} ? "Authorization: Bearer $o{token}\r\n" : '')
             . "\r\n";
    local $/;
    my $res = <$s>;
    my ($head, $body) = split /\r\n\r\n/, defined $res ? $res : '', 2;
    my ($status) = ($head || '') =~ m{^HTTP/1\.\d (\d{3})};
    my %headers;
    for (split /\r\n/, $head || '') {
        $headers{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
    }
    return { status => $status || 0, headers => \%headers,
             body => defined $body ? $body : '' };
}

sub status_of { http_get($_[0], token => $_[1])->{status} }

# Redis' own count of the commands it ran, by name (lower case), since
# the last CONFIG RESETSTAT: proof that a cached answer read nothing.
# reads() counts what a gateway with a cache reads with (no scripts).
sub commands {
    my %calls;
    for (split /\r?\n/, redis('INFO', 'commandstats')) {
        $calls{$1} = $2 if /^cmdstat_([\w|]+):calls=(\d+)/;
    }
    return \%calls;
}

sub reads {
    my $c = commands();
    my $n = 0;
    $n += $c->{$_} || 0 for qw(get mget);
    return $n;
}

# Requests $path with $token until every worker of the gateway answered
# (add_header X-Worker $pid), each with $status; dies otherwise.  Under
# valgrind the suite runs nginx as a single process: one is enough there.
sub in_every_worker {
    my ($path, $token, $status, $workers) = @_;
    my %seen;
    $workers = 1 if $ENV{TEST_NGINX_USE_VALGRIND};
    for (1 .. 100) {
        my $res = http_get($path, token => $token);
        die "got $res->{status}, not $status\n" unless $res->{status} == $status;
        $seen{ $res->{headers}{'x-worker'} || '' }++;
        return scalar(keys %seen) if keys %seen >= ($workers || 2);
    }
    die "only " . scalar(keys %seen) . " workers answered\n";
}

# Many clients keep requesting with $token while one revokes it: returns
# [allows after the revoking command returned plus $grace seconds,
#  requests in all, allows before].
sub hammer {
    my (%o) = @_;
    my $clients = $o{clients} || 8;
    my $seconds = $o{seconds} || 1;
    my $grace = defined $o{grace} ? $o{grace} : 0.05;
    my $dir = $ENV{TEST_NGINX_REDIS_DIR} || '/tmp';
    my $start = time;
    my @pids;

    for my $i (1 .. $clients) {
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if ($pid == 0) {
            open my $fh, '>', "$dir/hammer.$i" or POSIX::_exit(1);
            while (time < $start + $seconds) {
                my $sent = time;
                my $res = http_get($o{path}, token => $o{token});
                printf $fh "%.6f %d\n", $sent, $res->{status};
            }
            close $fh;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }

    sleep $seconds / 2;
    $o{revoke}->();
    my $revoked = time;

    waitpid $_, 0 for @pids;

    my ($late, $all, $early) = (0, 0, 0);
    for my $i (1 .. $clients) {
        open my $fh, '<', "$dir/hammer.$i" or next;
        while (<$fh>) {
            my ($sent, $status) = split;
            $all++;
            $early++ if $status == 200 && $sent < $revoked;
            $late++ if $status == 200 && $sent >= $revoked + $grace;
        }
        close $fh;
        unlink "$dir/hammer.$i";
    }

    return [$late, $all, $early];
}

# $o{clients} clients (4) request $o{path} with each of @{$o{tokens}} in
# turn until $o{during} has run and $o{after} more seconds (0.3) passed:
# returns { status => count }, statuses of 503 counted as "503" only
# with a Retry-After.
sub load {
    my (%o) = @_;
    my $clients = $o{clients} || 4;
    my $dir = $ENV{TEST_NGINX_REDIS_DIR} || '/tmp';
    my $stop = "$dir/load.stop";
    my @pids;
    unlink $stop;

    for my $i (1 .. $clients) {
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if ($pid == 0) {
            open my $fh, '>', "$dir/load.$i" or POSIX::_exit(1);
            my $n = $i;
            until (-e $stop) {
                my $token = $o{tokens}[$n++ % @{ $o{tokens} }];
                my $res = http_get($o{path}, token => $token);
                my $status = $res->{status};
                $status .= '-no-retry-after'
                    if $status == 503 && !$res->{headers}{'retry-after'};
                print $fh "$status\n";
            }
            close $fh;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }

    sleep 0.2;
    my $ok = eval { $o{during}->(); 1 };
    my $err = $@;
    sleep(defined $o{after} ? $o{after} : 0.3);
    write_file($stop, '');
    waitpid $_, 0 for @pids;
    unlink $stop;
    die $err unless $ok;

    my %count;
    for my $i (1 .. $clients) {
        open my $fh, '<', "$dir/load.$i" or next;
        while (<$fh>) { chomp; $count{$_}++ }
        close $fh;
        unlink "$dir/load.$i";
    }

    return \%count;
}

# A tiny HTTP server that does things between two requests of one block,
# in order: nginx proxies "location /control/" to it.  Paths:
#   /control/redis/stop/PORT        kill a private redis-server
#   /control/redis/start/PORT       start it again, seeded with TOKEN
#   /control/redis/sleep/PORT/SECS  DEBUG SLEEP without waiting for it
#   /control/pause/MS               answer after MS milliseconds
#   /control/nginx/hup              reload nginx (needs master_on)
#   /control/keys/FROM/TO           copy a file in the keys folder
#   /control/do/NAME                run the block's action NAME, given to
#                                   start_control after the seed
our $Control = <<'END';
    location /control/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CONTROL_PORT;
        proxy_read_timeout 30s;
    }
END

sub start_control {
    my ($seed, %actions) = @_;

    serve($ENV{TEST_NGINX_CONTROL_PORT} || 1987, sub {
        my ($c) = @_;
        my $line = <$c>;
        while (my $h = <$c>) { last if $h =~ /^\r?\n$/ }
        my ($path) = $line =~ m{^\S+ (\S+)};
        my $out = eval { control($path, $seed, \%actions); 'ok' }
                  || "failed: $@";
        print $c "HTTP/1.1 200 OK\r\nContent-Length: " . (length($out) + 1)
                 . "\r\nConnection: close\r\n\r\n$out\n";
        close $c;
    });
}

sub control {
    my ($path, $seed, $actions) = @_;

    if ($path =~ m{^/control/do/(\w+)$}) {
        my $action = $actions->{$1} or die "no action $1\n";
        $action->();

    } elsif ($path =~ m{^/control/redis/stop/(\d+)$}) {
        stop_redis($1);

    } elsif ($path =~ m{^/control/redis/start/(\d+)$}) {
        start_redis($1);
        local $Port = $1;
        $seed->() if $seed;

    } elsif ($path =~ m{^/control/redis/sleep/(\d+)/([\d.]+)$}) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $1, Proto => 'tcp')
            or die "redis on port $1: $!\n";
        print $s "DEBUG SLEEP $2\r\n";
        sleep 0.05;
        close $s;

    } elsif ($path =~ m{^/control/keys/([\w.-]+)/([\w.-]+)$}) {
        my $dir = keys_dir();
        my $text = do { local (@ARGV, $/) = ("$dir/$1"); <> };
        write_file("$dir/$2", $text);

    } elsif ($path =~ m{^/control/pause/(\d+)$}) {
        sleep $1 / 1000;

    } elsif ($path eq '/control/nginx/hup') {
        hup();

    } else {
        die "unknown control path $path\n";
    }
}

# the pid of the nginx under test (its master, or its one process)
sub nginx_pid {
    my $root = $ENV{TEST_NGINX_SERVROOT} || 't/servroot';
    open my $fh, '<', "$root/logs/nginx.pid" or die "nginx.pid: $!\n";
    chomp(my $pid = <$fh>);
    return $pid;
}

# reloads the nginx under test and gives its new workers time to start
sub hup {
    kill 'HUP', nginx_pid() or die "HUP: $!\n";
    sleep 0.5;
}

END {
    local $?;
    stop_fake($_) for keys %Servers;
}

1;
