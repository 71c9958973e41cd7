package Test::Nginx::Socket;

# The subset of Test::Nginx::Socket's data-driven format that this
# project's suite uses, for machines where the real module (CPAN only)
# cannot be installed.  Built on Test::Base, as the real one is, and
# written after its source: the same blocks check the same things, after
# each request of a block, and count the same number of tests.
#
# Sections: main_config http_config config request pipelined_requests
# more_headers error_code response_body response_body_like
# response_headers response_headers_like error_log no_error_log
# grep_error_log grep_error_log_out must_die init timeout wait skip_eval.
# Environment: TEST_NGINX_BINARY, TEST_NGINX_SERVER_PORT (or
# TEST_NGINX_PORT), TEST_NGINX_LOAD_MODULES, TEST_NGINX_USE_HUP,
# TEST_NGINX_USE_VALGRIND, TEST_NGINX_SERVROOT.

use Test::Base;

use Cwd ();
use POSIX ();
use IO::Socket::INET;
use IO::Select;
use File::Path qw(make_path remove_tree);
use Time::HiRes qw(sleep time);
use Scalar::Util ();

our $VERSION = '0.001';

my @Exports = qw(
    run_tests repeat_each no_shuffle no_long_string no_root_location
    check_accum_error_log
    log_level workers master_on master_off add_block_preprocessor
    env_to_nginx server_port server_root html_dir
    plan blocks is isnt ok like unlike is_deeply diag note pass fail
);

our $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                  || 1984;
$ENV{TEST_NGINX_SERVER_PORT} = $ServerPort;

our $ServRoot = $ENV{TEST_NGINX_SERVROOT} || Cwd::cwd() . '/t/servroot';
our $NginxBinary = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $UseHup = $ENV{TEST_NGINX_USE_HUP};
our $UseValgrind = $ENV{TEST_NGINX_USE_VALGRIND};

my $RepeatEach = 1;
my $NoRootLocation = 0;
my $LogLevel = 'debug';
my $Workers = 1;
my $MasterOn = 0;
my @Preprocessors;
my @EnvToNginx;

my $Running = 0;        # an nginx of ours is up
my $ValgrindPid;

sub import {
    my $class = shift;
    my $caller = caller;

    no strict 'refs';
    for my $name (@Exports) {
        *{"${caller}::$name"} = \&{"Test::Nginx::Socket::$name"};
    }

    plan(@_) if @_;
}

sub repeat_each (@) { $RepeatEach = shift if @_; return $RepeatEach }
sub no_shuffle () { }
sub no_long_string () { }
sub no_root_location () { $NoRootLocation = 1 }
sub log_level ($) { $LogLevel = shift }
sub workers ($) { $Workers = shift }
sub master_on () { $MasterOn = 1 }
sub master_off () { $MasterOn = 0 }
sub add_block_preprocessor (&) { push @Preprocessors, shift }
sub env_to_nginx (@) { push @EnvToNginx, @_ }
sub server_port () { $ServerPort }
sub server_root () { $ServRoot }
sub html_dir () { "$ServRoot/html" }

sub expand_env {
    my ($text, $name) = @_;
    return '' unless defined $text;

    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        defined $ENV{$1} ? $ENV{$1}
                         : die "$name: environment variable $1 is not set\n"
    }ge;

    return $text;
}

sub conf_text {
    my ($block) = @_;
    my $name = $block->name;
    my $main = expand_env(scalar $block->main_config, $name);
    my $http = expand_env(scalar $block->http_config, $name);
    my $config = expand_env(scalar $block->config, $name);
    my $master = ($MasterOn || $UseHup) && !$UseValgrind ? 'on' : 'off';
    my $daemon = $UseValgrind ? 'off' : 'on';
    my $conf = '';

    $conf .= "worker_processes $Workers;\n";
    $conf .= "daemon $daemon;\n";
    $conf .= "master_process $master;\n";
    $conf .= "error_log logs/error.log $LogLevel;\n";
    $conf .= "pid logs/nginx.pid;\n";
    $conf .= "user root;\n" if $> == 0;

    for my $m (split ' ', $ENV{TEST_NGINX_LOAD_MODULES} || '') {
        $conf .= "load_module $m;\n";
    }

    $conf .= "env $_;\n" for @EnvToNginx;
    $conf .= "$main\n";

    $conf .= <<"END";
http {
    access_log logs/access.log;
    default_type text/plain;
    keepalive_timeout 68;

$http

    server {
        listen $ServerPort;
        server_name localhost;
        client_max_body_size 30M;

$config
END

    $conf .= <<"END" unless $NoRootLocation;
        location / {
            root $ServRoot/html;
            index index.html index.htm;
        }
END

    $conf .= <<"END";
    }
}

events {
    accept_mutex off;
    worker_connections 64;
}
END

    return $conf;
}

sub write_conf {
    my ($text) = @_;
    make_path("$ServRoot/conf", "$ServRoot/logs", "$ServRoot/html");
    open my $fh, '>', "$ServRoot/conf/nginx.conf" or die "nginx.conf: $!";
    print $fh $text;
    close $fh;
}

sub fresh_root {
    remove_tree($ServRoot);
    make_path("$ServRoot/conf", "$ServRoot/logs", "$ServRoot/html");
}

sub nginx_cmd {
    my @cmd = ($NginxBinary, '-p', "$ServRoot/", '-c',
               "$ServRoot/conf/nginx.conf");

    if ($UseValgrind) {
        my @supp;
        for my $f ('valgrind.suppress', 't/valgrind.suppress') {
            if (-f $f) { @supp = ("--suppressions=$f"); last }
        }

        unshift @cmd, 'valgrind', '-q', '--num-callers=30',
            '--leak-check=full', '--show-possibly-lost=no',
            '--errors-for-leak-kinds=definite',
            "--log-file=$ServRoot/logs/valgrind.log", @supp;
    }

    return @cmd;
}

# Runs nginx with stderr appended to logs/error.log, where startup
# failures land before the configured error log is open.
sub spawn_nginx {
    my ($foreground) = @_;
    my $pid = fork;
    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$ServRoot/logs/error.log";
        open STDERR, '>>', "$ServRoot/logs/error.log";
        exec nginx_cmd() or POSIX::_exit(127);
    }

    return $pid;
}

# Whether something listens on the port, read from the kernel's table so
# that probing opens no connection nginx would log.
sub listening {
    my ($port) = @_;
    my $hex = sprintf ':%04X ', $port;

    for my $table ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $fh, '<', $table or next;
        while (my $line = <$fh>) {
            my @f = split ' ', $line;
            return 1 if @f > 3 && "$f[1] " =~ /\Q$hex\E$/ && $f[3] eq '0A';
        }
    }

    return 0;
}

sub wait_port {
    my ($seconds) = @_;
    my $deadline = time + $seconds;

    while (time < $deadline) {
        return 1 if listening($ServerPort);
        sleep 0.02;
    }

    return 0;
}

sub master_pid {
    open my $fh, '<', "$ServRoot/logs/nginx.pid" or return undef;
    my $pid = <$fh>;
    close $fh;
    chomp $pid if defined $pid;
    return $pid;
}

sub start_nginx {
    my ($name) = @_;

    if ($UseValgrind) {
        $ValgrindPid = spawn_nginx();
    } else {
        my $pid = spawn_nginx();
        waitpid $pid, 0;
        if ($? != 0) {
            fail("$name - nginx started");
            diag(error_log_since(0));
            return 0;
        }
    }

    $Running = 1;

    unless (wait_port($UseValgrind ? 60 : 5)) {
        fail("$name - nginx listens on port $ServerPort");
        diag(error_log_since(0));
        return 0;
    }

    return 1;
}

# A daemon whose parent is gone may linger as a zombie where nothing
# reaps orphans: that counts as stopped.
sub alive {
    my ($pid) = @_;
    return 0 unless kill 0, $pid;
    open my $fh, '<', "/proc/$pid/stat" or return 1;
    my $stat = <$fh>;
    close $fh;
    return !($stat && $stat =~ /^\d+ \(.*\) [ZX]/s);
}

sub stop_nginx {
    return unless $Running;
    $Running = 0;

    my $pid = $UseValgrind ? $ValgrindPid : master_pid();
    return unless $pid;

    kill 'QUIT', $pid;

    my $deadline = time + ($UseValgrind ? 60 : 10);
    while (time < $deadline) {
        if ($UseValgrind) {
            last if waitpid($pid, POSIX::WNOHANG()) == $pid;
        } else {
            last unless alive($pid);
        }
        sleep 0.02;
    }

    if (alive($pid)) {
        kill 'KILL', $pid;
        waitpid $pid, 0 if $UseValgrind;
    }

    # the port must be free for the next block
    my $wait = time + 5;
    while (time < $wait && listening($ServerPort)) {
        sleep 0.02;
    }
}

# the master's children, read from /proc
sub workers_of {
    my ($master) = @_;
    my @pids;

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh>;
        close $fh;
        push @pids, $1 if $line && $line =~ /^(\d+) \(.*\) \S+ (\d+) /s
                          && $2 == $master;
    }

    return @pids;
}

sub hup_nginx {
    my ($name) = @_;
    my $pid = master_pid();
    my $offset = -s "$ServRoot/logs/error.log" || 0;
    my @old = workers_of($pid);

    kill 'HUP', $pid;

    my $deadline = time + 5;
    while (time < $deadline) {
        my $log = error_log_since($offset);
        if ($log =~ /\[emerg\]/) {
            fail("$name - nginx reloaded");
            diag($log);
            return 0;
        }
        last if $log =~ /start worker process/;
        sleep 0.02;
    }

    # requests must not reach a worker of the old configuration
    my $wait = time + 10;
    while (time < $wait && grep { alive($_) } @old) {
        sleep 0.02;
    }

    return 1;
}

sub error_log_since {
    my ($offset) = @_;
    open my $fh, '<', "$ServRoot/logs/error.log" or return '';
    seek $fh, $offset, 0;
    local $/;
    my $text = <$fh>;
    close $fh;
    return defined $text ? $text : '';
}

sub valgrind_report {
    my ($name) = @_;
    return unless $UseValgrind;

    my $file = "$ServRoot/logs/valgrind.log";
    my $report = -f $file ? do { local (@ARGV, $/) = ($file); <> } : '';

    ok($report eq '', "$name - valgrind reported nothing")
        or diag($report);
}

# $i picks the request's entry where more_headers is an array
sub build_request {
    my ($text, $block, $keepalive, $i) = @_;
    my $name = $block->name;

    $text = expand_env($text, $name);
    $text =~ s/\A\s+//;

    my ($line, $body) = split /\n/, $text, 2;
    $line =~ s/\s+\z//;
    $body = '' unless defined $body;

    my ($method) = $line =~ /^(\S+)/;
    $line .= ' HTTP/1.1' unless $line =~ m{ HTTP/\d\.\d$};

    my $headers = '';
    my $more = $block->more_headers;
    if (ref $more eq 'ARRAY') {
        $more = $more->[$i];
        die "$name - --- more_headers lacks data for request $i\n"
            unless defined $more;
    }
    $more = expand_env($more, $name);
    my %seen;

    for my $h (split /\n/, $more) {
        next unless $h =~ /\S/;
        my ($k) = $h =~ /^([^:]+):/;
        $seen{lc $k} = 1 if defined $k;
        $headers .= "$h\r\n";
    }

    my $raw = "$line\r\n";
    $raw .= "Host: localhost\r\n" unless $seen{host};
    $raw .= "Connection: " . ($keepalive ? 'keep-alive' : 'close') . "\r\n"
        unless $seen{connection};
    $raw .= $headers;

    if (length $body || $method =~ /^(?:POST|PUT|PATCH)$/) {
        $raw .= "Content-Length: " . length($body) . "\r\n"
            unless $seen{'content-length'};
    }

    $raw .= "\r\n$body";

    return ($raw, $method);
}

sub read_all {
    my ($sock, $timeout) = @_;
    my $sel = IO::Select->new($sock);
    my $data = '';
    my $deadline = time + $timeout;

    while (1) {
        my $left = $deadline - time;
        return ($data, 'timeout') if $left <= 0;
        return ($data, 'timeout') unless $sel->can_read($left);

        my $n = sysread $sock, my $buf, 65536;
        return ($data, "read: $!") unless defined $n;
        last if $n == 0;
        $data .= $buf;
    }

    return ($data, undef);
}

# Takes one response off the front of $$data.
sub parse_response {
    my ($data, $method) = @_;

    return undef unless $$data =~ s/\A(HTTP\/\d\.\d) (\d{3})[^\r\n]*\r\n//;
    my $status = $2;
    my %headers;
    my $raw_headers = '';

    while ($$data =~ s/\A([^\r\n]+)\r\n//) {
        $raw_headers .= "$1\r\n";
        my ($k, $v) = split /:\s*/, $1, 2;
        push @{ $headers{lc $k} }, defined $v ? $v : '';
    }

    $$data =~ s/\A\r\n//;

    my $body = '';

    if ($method eq 'HEAD' || $status == 304 || $status == 204) {
        # no body

    } elsif (($headers{'transfer-encoding'}[0] || '') =~ /chunked/i) {
        while ($$data =~ s/\A([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $len = hex $1;
            if ($len == 0) {
                $$data =~ s/\A\r\n//;
                last;
            }
            $body .= substr($$data, 0, $len, '');
            $$data =~ s/\A\r\n//;
        }

    } elsif (defined $headers{'content-length'}) {
        $body = substr($$data, 0, $headers{'content-length'}[0], '');

    } else {
        $body = $$data;
        $$data = '';
    }

    return { status => $status, headers => \%headers, body => $body,
             raw_headers => $raw_headers };
}

sub exchange {
    my ($raws, $methods, $timeout) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $ServerPort,
                                     Proto => 'tcp')
        or return (undef, "connect: $!");

    print $sock join '', @$raws;

    my ($data, $err) = read_all($sock, $timeout);
    close $sock;

    my @responses;
    for my $m (@$methods) {
        my $res = parse_response(\$data, $m);
        last unless $res;
        push @responses, $res;
    }

    return (\@responses, $err);
}

sub as_list {
    my ($v) = @_;
    return ref $v eq 'ARRAY' ? @$v : ($v);
}

# A section's value for request $i: blocks with several requests must
# give arrays, as Test::Nginx::Socket bails out otherwise.
sub indexed {
    my ($block, $value, $i, $need_array) = @_;

    if ($need_array) {
        return $value->[$i] if ref $value eq 'ARRAY';
        die $block->name . " - You asked for many requests, the expected"
            . " results should be arrays as well.\n";
    }

    return ref $value eq 'ARRAY' ? $value->[0] : $value;
}

# "Name: value" lines; "!Name" for a header that must be absent (undef)
sub parse_headers {
    my ($text) = @_;
    my %headers;

    for my $line (split /\n/, defined $text ? $text : '') {
        $line =~ s/^\s+|\s+$//g;
        if ($line =~ s/^!\s*//) {
            $headers{$line} = undef;
        } else {
            my ($k, $v) = split /\s*:\s*/, $line, 2;
            $headers{defined $k ? $k : ''} = $v;
        }
    }

    return \%headers;
}

sub header_value {
    my ($res, $key) = @_;
    my $got = $res ? $res->{headers}{lc $key} : undef;
    return defined $got ? join(', ', @$got) : '';
}

# The checks of one response, as many and as named as the real library's:
# a status always (200 unless error_code says otherwise), one test per
# header line, and response_body or else response_body_like.
sub check_response {
    my ($block, $res, $i, $need_array) = @_;
    my $name = $block->name;

    my $code = defined $block->error_code
               ? indexed($block, scalar $block->error_code, $i, $need_array)
               : 200;
    is(($res && $res->{status}) || '', $code, "$name - status code ok");

    if (defined $block->response_headers) {
        my $spec = indexed($block, scalar $block->response_headers, $i,
                           $need_array);
        my $headers = parse_headers($spec);
        my $raw = $res ? $res->{raw_headers} : '';

        for my $k (sort keys %$headers) {
            my $v = $headers->{$k};
            if (!defined $v) {
                unlike($raw, qr/^\s*\Q$k\E\s*:/ms,
                       "$name - header $k not present in the raw headers");
                next;
            }
            $v =~ s/\$ServerPort\b/$ServerPort/g;
            is(header_value($res, $k), $v, "$name - header $k ok");
        }

    } elsif (defined $block->response_headers_like) {
        my $spec = indexed($block, scalar $block->response_headers_like, $i,
                           $need_array);
        my $headers = parse_headers($spec);

        for my $k (sort keys %$headers) {
            my $v = $headers->{$k};
            like(header_value($res, $k), qr/^$v$/,
                 "$name - header $k like ok");
        }
    }

    my $body = $res ? $res->{body} : undef;

    if (defined $block->response_body) {
        my $want = indexed($block, scalar $block->response_body, $i,
                           $need_array);
        if (ref $want) {
            like($body, $want, "$name - response_body - like (req $i)");
        } else {
            $want = expand_env($want, $name) if defined $want;
            is($body, $want,
               "$name - response_body - response is expected (req $i)");
        }

    } elsif (defined $block->response_body_like) {
        my $pat = indexed($block, scalar $block->response_body_like, $i,
                          $need_array);
        like($body, qr/$pat/s,
             "$name - response_body_like - response is expected");
    }
}

# The error log's lines since the previous check of this block, or all of
# the block's lines with check_accum_error_log(): Test::Nginx::Socket
# checks after each request of a block, not once for the whole block.
my $AccumErrorLog = 0;
my ($LogStart, $LogPos);

sub check_accum_error_log () { $AccumErrorLog = 1 }

sub error_log_lines {
    # the log phase runs after the response is sent
    sleep 0.045;

    open my $fh, '<', "$ServRoot/logs/error.log" or return [];
    seek $fh, $AccumErrorLog ? $LogStart : $LogPos, 0;
    my @lines = <$fh>;
    $LogPos = tell $fh unless $AccumErrorLog;
    close $fh;

    return \@lines;
}

sub log_patterns {
    my ($spec) = @_;
    return () unless defined $spec;
    return ($spec) if ref $spec eq 'Regexp';
    return grep { defined } @$spec if ref $spec eq 'ARRAY';
    chomp $spec;
    return split /\n+/, $spec;
}

sub line_matches {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ /$pat/ : $line =~ /\Q$pat\E/;
}

sub check_error_log {
    my ($block, $rep) = @_;
    my $name = $block->name;
    my $lines = error_log_lines();

    if (defined(my $grep = $block->grep_error_log)) {
        $grep = $grep->[$rep] if ref $grep eq 'ARRAY';
        my $want = $block->grep_error_log_out;
        die "$name - No --- grep_error_log_out defined but"
            . " --- grep_error_log is defined\n" unless defined $want;
        $want = $want->[$rep] if ref $want eq 'ARRAY';
        $want = expand_env($want, $name) unless ref $want;

        my $out = '';
        for my $line (@$lines) {
            if (ref $grep ? $line =~ /$grep/ : $line =~ /\Q$grep\E/) {
                $out .= "$&\n" if $& !~ /\n/;
            }
        }

        if (ref $want eq 'Regexp') {
            like($out, $want, "$name - grep_error_log_out (req $rep)");
        } else {
            is($out, $want, "$name - grep_error_log_out (req $rep)");
        }
    }

    my @want = log_patterns(scalar $block->error_log);
    for my $pat (@want) {
        if (grep { line_matches($_, $pat) } @$lines) {
            pass("$name - pattern \"$pat\" matches a line in error.log"
                 . " (req $rep)");
        } else {
            fail("$name - pattern \"$pat\" should match a line in error.log"
                 . " (req $rep)");
        }
    }

    for my $pat (log_patterns(scalar $block->no_error_log)) {
        my @hits = grep { line_matches($_, $pat) } @$lines;
        fail("$name - pattern \"$pat\" should not match any line in"
             . " error.log but matches line \"$_\" (req $rep)") for @hits;
        pass("$name - pattern \"$pat\" does not match a line in error.log"
             . " (req $rep)") unless @hits;
    }

    # warnings for what nobody asked about, and a failed assertion fails
    my $asked = join "\n", map { "$_" } @want,
                log_patterns(scalar $block->no_error_log);
    for my $level ('alert', 'crit', 'emerg') {
        next if index($asked, "[$level") >= 0;
        for my $line (grep { /\[$level\]/ } @$lines) {
            chomp(my $l = $line);
            warn "WARNING: $name - $l\n";
        }
    }

    for my $line (grep { /\bAssertion .*?failed\b/ } @$lines) {
        chomp(my $l = $line);
        fail("$name - $l");
    }
}

sub run_must_die {
    my ($block) = @_;
    my $name = $block->name;

    stop_nginx();
    fresh_root();
    write_conf(conf_text($block));

    local $UseValgrind = 0;
    my $pid = spawn_nginx();
    my $deadline = time + 5;
    my $done;

    while (time < $deadline) {
        $done = waitpid $pid, POSIX::WNOHANG();
        last if $done == $pid;
        sleep 0.02;
    }

    if ($done != $pid) {
        kill 'KILL', $pid;
        waitpid $pid, 0;
    }

    my $status = $? >> 8;
    my $want = $block->must_die;

    if (Scalar::Util::looks_like_number($want)) {
        is($want, $status, "$name - die with the expected exit code");
    } else {
        isnt($status, 0, "$name - die as expected");
    }

    # a daemonized master means the configuration was accepted
    if (my $master = master_pid()) {
        kill 'QUIT', $master if alive($master);
    }

    ($LogStart, $LogPos) = (0, 0);
    check_error_log($block, 0);
}

# Sends the block's requests and checks each response, then the error
# log after each one, as Test::Nginx::Socket does: pipelined requests
# share one connection and are all answered before the first check.
sub run_requests {
    my ($block, $rep, $timeout) = @_;
    my (@texts, @sends, $need_array);

    if (defined(my $pipelined = $block->pipelined_requests)) {
        @texts = as_list($pipelined);
        my (@raws, @methods);
        for my $k (0 .. $#texts) {
            my ($raw, $m) = build_request($texts[$k], $block, $k < $#texts,
                                          $k);
            push @raws, $raw;
            push @methods, $m;
        }
        @sends = ([\@raws, \@methods]);
        $need_array = 1;

    } elsif (defined(my $request = $block->request)) {
        @texts = as_list($request);
        for my $k (0 .. $#texts) {
            my ($raw, $m) = build_request($texts[$k], $block, 0, $k);
            push @sends, [[$raw], [$m]];
        }
        $need_array = @texts > 1;

    } else {
        die $block->name . " - request empty\n";
    }

    my $k = 0;

    for my $send (@sends) {
        my ($responses, $err) = exchange(@$send, $timeout);

        for my $res (@{ $responses || [] }, (undef) x
                     (@{ $send->[1] } - @{ $responses || [] }))
        {
            diag($block->name . " - no response: "
                 . ($err || 'connection closed')) unless $res;

            check_response($block, $res, $k, $need_array);

            if ($k < $#texts) {
                sleep $block->wait if $block->wait;
                check_error_log($block, $rep);
            }

            $k++;
        }
    }

    sleep $block->wait if $block->wait;
    check_error_log($block, $rep);
}

sub run_block {
    my ($block) = @_;
    my $name = $block->name;

    $_->($block) for @Preprocessors;

    # "--- skip_eval: N: code": skip the block's N tests when code is true
    if (defined(my $skip = $block->skip_eval)) {
        my ($n, $code) = $skip =~ /^\s*(\d+)\s*:\s*(.*?)\s*$/s
            or die "$name: bad skip_eval \"$skip\"\n";
        if (eval $code) {
            SKIP: { skip("$name - skipped", $n) }
            return;
        }
    }

    if (defined $block->must_die) {
        run_must_die($block);
        return;
    }

    my $conf = conf_text($block);

    # the block's part of the log: with HUP the file goes on, from the
    # reload's own lines, as after the real library's USR1
    if ($UseHup && $Running) {
        $LogStart = -s "$ServRoot/logs/error.log" || 0;
        write_conf($conf);
        return unless hup_nginx($name);
    } else {
        stop_nginx();
        fresh_root();
        $LogStart = 0;
        write_conf($conf);
        return unless start_nginx($name);
    }

    $LogPos = $LogStart;

    if (defined(my $init = $block->init)) {
        eval $init;
        die "$name - init failed: $@" if $@;
    }

    my $timeout = $block->timeout;
    $timeout = 3 unless defined $timeout;
    $timeout =~ s/s?\s*$//;

    for my $rep (0 .. $RepeatEach - 1) {
        run_requests($block, $rep, $timeout);
    }

    unless ($UseHup) {
        stop_nginx();
        valgrind_report($name);
    }
}

sub run_tests () {
    for my $block (blocks()) {
        run_block($block);
    }

    stop_nginx();
    valgrind_report('shutdown') if $UseHup;
}

END {
    local $?;
    stop_nginx();
}

1;
