# What a Redis server may announce in a reply is bounded before anything
# is allocated: a stand-in server answers the lookup with a header of a
# huge array, a negative length, deep nesting or a long bulk string.
# The request gets its 503 at once, not after the command's timeout; a
# request that needs no Redis, in the same worker, is answered meanwhile;
# the worker's memory does not grow.

use Test::Nginx::Socket 'no_plan';
use BB;
use IO::Select;
use Time::HiRes qw(time sleep);

repeat_each(1);
no_shuffle();

# the request that looks up a token, one that needs no Redis, and the
# control server that measures them from outside
our $Config = <<'END';
    location /p {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location /open {
        return 200 "open\n";
    }
    location /metrics {
        bluebutton_status;
    }
END

our $Http = <<'END';
    bluebutton_redis 127.0.0.1:1989;
    bluebutton_redis_timeout 3s;
END

# a stand-in that answers whatever it is asked with $reply and then holds
# the connection, as a server in the middle of a reply would
sub bomb {
    my ($reply, $reason) = @_;

    BB::serve(1989, sub {
        my ($c) = @_;
        sysread $c, my $buf, 4096;
        syswrite $c, $reply;
        sleep 1;
    });

    BB::start_control(undef, measure => sub { measure($reply, $reason) });
}

sub worker_pid {
    my $master = BB::nginx_pid();
    for my $stat (glob "/proc/[0-9]*/stat") {
        open my $fh, '<', $stat or next;
        my ($pid, $ppid) = (scalar(<$fh>) // '') =~ /^(\d+) \(.*\) \S (\d+)/;
        return $pid if $ppid && $ppid == $master;
    }
    # no master process: the one process is the worker
    return $master;
}

sub rss_kib {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or die "status of $pid: $!\n";
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)/ }
    die "no VmRSS for $pid\n";
}

# bluebutton_redis_replies_refused_total, by reason
sub refused {
    my $r = BB::http_get('/metrics');
    die "metrics: $r->{status}\n" unless $r->{status} == 200;
    return { $r->{body} =~ /^bluebutton_redis_replies_refused_total\{reason="(\w+)"\} (\d+)$/mg };
}

# /p with a token while /open is asked once the lookup is under way; the
# refusal counted once, under its reason and no other
sub measure {
    my ($reply, $reason) = @_;
    my $refused = refused();
    my $port = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
    my $pid = worker_pid();
    my $before = rss_kib($pid);

    my $start = time;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 10)
        or die "gateway: $!\n";
    print $s "GET /p HTTP/1.0\r\nHost: localhost\r\n"
             . "Authorization: Bearer tok\r\n\r\n";

    # the answer, if it comes within 50 ms; else the other request first
    my $p_ms = IO::Select->new($s)->can_read(0.05)
               ? int((time - $start) * 1000) : undef;

    my $open_start = time;
    my $open = BB::http_get('/open');
    my $open_ms = int((time - $open_start) * 1000);

    my $res = do { local $/; <$s> } // '';
    $p_ms //= int((time - $start) * 1000);
    my ($status) = $res =~ m{^HTTP/1\.\d (\d+)};
    my $after = rss_kib($pid);

    (my $shown = $reply) =~ s/\r\n/\\r\\n/g;
    print STDERR "# $shown: 503 after $p_ms ms, a request needing no Redis "
                 . "$open_ms ms, worker RSS $before KiB -> $after KiB\n";

    die "the lookup got $status, not 503\n" unless ($status // 0) == 503;
    die "no Retry-After\n" unless $res =~ /^Retry-After: \d+\r$/mi;
    die "the 503 took $p_ms ms, more than the timeout\n" if $p_ms >= 3000;
    die "/open got $open->{status} after $open_ms ms\n"
        if $open->{status} != 200 || $open_ms > 500;
    die "the worker grew from $before to $after KiB\n"
        if $after > $before + 8192;

    my $now = refused();
    for (qw(elements depth length size protocol)) {
        my $n = ($now->{$_} // -1) - ($refused->{$_} // 0);
        die "refused{reason=\"$_\"} went up by $n\n"
            if $n != ($_ eq $reason ? 1 : 0);
    }
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('config', $Config . $BB::Control)
        unless defined $block->config;
    $block->set_value('http_config', $Http . $BB::Backend)
        unless defined $block->http_config;
});

run_tests();

__DATA__

=== TEST 1: an array of 200,000,000 elements announced in 13 bytes
--- init
main::bomb("*200000000\r\n", 'elements');
--- request
GET /control/do/measure
--- response_body
ok
--- timeout: 15
--- error_log
bluebutton: redis "127.0.0.1:1989" sent an array of more elements than 1024: the reply is not read and the connection is closed



=== TEST 2: an array of 2,000,000,000 elements
--- init
main::bomb("*2000000000\r\n", 'elements');
--- request
GET /control/do/measure
--- response_body
ok
--- timeout: 15
--- error_log
sent an array of more elements than 1024



=== TEST 3: a negative length that is not nil is no reply at all: 503, not 401
--- init
main::bomb("\$-7\r\n", 'protocol');
--- request
GET /control/do/measure
--- response_body
ok
--- timeout: 15
--- error_log
sent a negative length



=== TEST 4: arrays nested deeper than a lookup's reply ever is
--- init
main::bomb("*1\r\n*1\r\n*1\r\n*1\r\n", 'depth');
--- request
GET /control/do/measure
--- response_body
ok
--- timeout: 15
--- error_log
sent arrays nested deeper than 3



=== TEST 5: a bulk string longer than any record
--- init
main::bomb("*2\r\n\$2097152\r\n", 'length');
--- request
GET /control/do/measure
--- response_body
ok
--- timeout: 15
--- error_log
sent a bulk string longer than 1048576



=== TEST 6: an array header that is not a number
--- init
main::bomb("*12x\r\n", 'protocol');
--- request
GET /control/do/measure
--- response_body
ok
--- timeout: 15
--- error_log
sent a malformed length



=== TEST 7: a server that keeps sending it is logged once, not at every reconnect
--- init
BB::serve(1989, sub {
    my ($c) = @_;
    sysread $c, my $buf, 4096;
    syswrite $c, "*200000000\r\n";
});
BB::start_control(undef, thrice => sub {
    for (1 .. 3) {
        my $res = BB::http_get('/p', token => 'tok');
        die "got $res->{status}\n" unless $res->{status} == 503;
        sleep 0.3;
    }
});
--- request
GET /control/do/thrice
--- response_body
ok
--- grep_error_log eval: qr/\[(error|info)\][^\n]*sent an array of more elements than 1024/
--- grep_error_log_out eval: qr/\A\[error\][^\n]*\n\[info\][^\n]*\n\[info\][^\n]*\n\z/
