package Test::Nginx::Socket;

# The subset of Test::Nginx::Socket's data-driven format that this
# project's suite uses, for machines where the real module (CPAN only)
# cannot be installed.  The same .t files run unchanged under the real
# Test::Nginx::Socket 0.3x.  Built on Test::Base, as the real one is.
#
# Sections: main_config http_config config request pipelined_requests
# more_headers error_code response_body response_body_like
# response_headers response_headers_like error_log no_error_log
# must_die init timeout wait skip_eval.  Environment: TEST_NGINX_BINARY,
# TEST_NGINX_SERVER_PORT (or TEST_NGINX_PORT), TEST_NGINX_LOAD_MODULES,
# TEST_NGINX_USE_HUP, TEST_NGINX_USE_VALGRIND, TEST_NGINX_SERVROOT.

use Test::Base;

use Cwd ();
use POSIX ();
use IO::Socket::INET;
use IO::Select;
use File::Path qw(make_path remove_tree);
use Time::HiRes qw(sleep time);

our $VERSION = '0.001';

my @Exports = qw(
    run_tests repeat_each no_shuffle no_long_string no_root_location
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

sub build_request {
    my ($text, $block, $keepalive) = @_;
    my $name = $block->name;

    $text = expand_env($text, $name);
    $text =~ s/\A\s+//;

    my ($line, $body) = split /\n/, $text, 2;
    $line =~ s/\s+\z//;
    $body = '' unless defined $body;

    my ($method) = $line =~ /^(\S+)/;
    $line .= ' HTTP/1.1' unless $line =~ m{ HTTP/\d\.\d$};

    my $headers = '';
    my $more = expand_env(scalar $block->more_headers, $name);
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

    while ($$data =~ s/\A([^\r\n]+)\r\n//) {
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

    return { status => $status, headers => \%headers, body => $body };
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

sub pick {
    my ($v, $i) = @_;
    return ref $v eq 'ARRAY' ? $v->[$i] : $v;
}

sub check_response {
    my ($block, $res, $i, $err) = @_;
    my $name = $block->name;
    my $req = $i ? " (req $i)" : '';

    if (!$res) {
        fail("$name - response received$req");
        diag("no response: " . ($err || 'connection closed'));
        return;
    }

    if (defined(my $code = pick(scalar $block->error_code, $i))) {
        $code =~ s/\s+//g;
        is($res->{status}, $code, "$name - status code ok$req");
    }

    if (defined(my $body = pick(scalar $block->response_body, $i))) {
        is($res->{body}, $body, "$name - response_body - response is expected$req");
    }

    if (defined(my $like = pick(scalar $block->response_body_like, $i))) {
        my $re = ref $like ? $like : qr/$like/s;
        like($res->{body}, $re, "$name - response_body_like - response is expected$req");
    }

    for my $spec (as_list(pick(scalar $block->response_headers, $i))) {
        next unless defined $spec;
        for my $line (split /\n/, $spec) {
            next unless $line =~ /\S/;

            if ($line =~ /^!\s*(\S+)\s*$/) {
                ok(!defined $res->{headers}{lc $1},
                   "$name - header $1 not present$req")
                    or diag("got $1: " . join ', ', @{ $res->{headers}{lc $1} });
                next;
            }

            my ($k, $v) = $line =~ /^([^:]+):\s*(.*?)\s*$/;
            my $got = $res->{headers}{lc $k};
            is(defined $got ? join(', ', @$got) : undef, $v,
               "$name - header $k ok$req");
        }
    }

    for my $spec (as_list(pick(scalar $block->response_headers_like, $i))) {
        next unless defined $spec;
        for my $line (split /\n/, $spec) {
            next unless $line =~ /\S/;
            my ($k, $v) = $line =~ /^([^:]+):\s*(.*?)\s*$/;
            my $got = $res->{headers}{lc $k};
            like(defined $got ? join(', ', @$got) : '', qr/^(?:$v)$/s,
                 "$name - header $k like ok$req");
        }
    }
}

sub log_patterns {
    my ($spec) = @_;
    return () unless defined $spec;
    return map { ref $_ ? $_ : split /\n/, $_ } as_list($spec);
}

sub check_error_log {
    my ($block, $log) = @_;
    my $name = $block->name;
    my @lines = split /\n/, $log;

    for my $pat (log_patterns(scalar $block->error_log)) {
        next if !ref $pat && $pat !~ /\S/;
        my $hit = grep { ref $pat ? $_ =~ $pat : index($_, $pat) >= 0 } @lines;
        ok($hit, "$name - pattern \"$pat\" matches a line in error.log")
            or diag("error.log:\n$log");
    }

    for my $pat (log_patterns(scalar $block->no_error_log)) {
        next if !ref $pat && $pat !~ /\S/;
        my @hits = grep { ref $pat ? $_ =~ $pat : index($_, $pat) >= 0 } @lines;
        ok(!@hits, "$name - pattern \"$pat\" should not match any line in error.log")
            or diag(join "\n", @hits);
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
    $want =~ s/\s+//g;

    if ($want =~ /^\d+$/ && $want > 1) {
        is($status, $want, "$name - nginx died with the expected code");
    } else {
        ok($status != 0, "$name - nginx died as expected");
    }

    # a daemonized master means the configuration was accepted
    if (my $master = master_pid()) {
        kill 'QUIT', $master if alive($master);
    }

    check_error_log($block, error_log_since(0));
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

    if ($UseHup && $Running) {
        write_conf($conf);
        return unless hup_nginx($name);
    } else {
        stop_nginx();
        fresh_root();
        write_conf($conf);
        return unless start_nginx($name);
    }

    if (defined(my $init = $block->init)) {
        eval $init;
        die "$name - init failed: $@" if $@;
    }

    my $timeout = $block->timeout;
    $timeout = 3 unless defined $timeout;
    $timeout =~ s/s?\s*$//;

    for my $rep (1 .. $RepeatEach) {
        my $offset = -s "$ServRoot/logs/error.log" || 0;

        if (defined(my $pipelined = $block->pipelined_requests)) {
            my @texts = as_list($pipelined);
            my (@raws, @methods);
            for my $k (0 .. $#texts) {
                my ($raw, $m) = build_request($texts[$k], $block,
                                              $k < $#texts);
                push @raws, $raw;
                push @methods, $m;
            }

            my ($responses, $err) = exchange(\@raws, \@methods, $timeout);
            for my $k (0 .. $#texts) {
                check_response($block, $responses ? $responses->[$k] : undef,
                               $k, $err);
            }

        } elsif (defined(my $request = $block->request)) {
            my @texts = as_list($request);
            for my $k (0 .. $#texts) {
                my ($raw, $m) = build_request($texts[$k], $block, 0);
                my ($responses, $err) = exchange([$raw], [$m], $timeout);
                check_response($block, $responses ? $responses->[0] : undef,
                               @texts > 1 ? $k : 0, $err);
            }
        }

        sleep $block->wait if $block->wait;

        # the error log is written after the response; give it a moment
        sleep 0.05;

        check_error_log($block, error_log_since($offset));
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
