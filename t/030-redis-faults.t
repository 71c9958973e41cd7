# Redis that is down, stalled, killed, restarted, password-protected or
# not Redis at all: the gateway answers 503 with Retry-After, never 401
# and never an allow, keeps serving other locations, and recovers without
# a reload.

use Test::Nginx::Socket 'no_plan';
use BB;

repeat_each(1);
no_shuffle();
master_on();

# Each block's log is checked whole after each of its requests: the lines
# that prove a fault come from the request that meets it, while the
# requests after it show that the gateway recovers or keeps serving.
check_accum_error_log();

add_block_preprocessor(sub {
    my $block = shift;

    BB::defaults($block);

    if (!defined $block->config) {
        $block->set_value('config', <<'END' . $BB::Control);
    location /p {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }

    location /open {
        return 200 "open\n";
    }
END
    }

    $block->set_value('more_headers', 'Authorization: Bearer tok')
        unless defined $block->more_headers;
});

run_tests();

__DATA__

=== TEST 1: nothing listens where Redis should be: 503, not 401
--- http_config
    bluebutton_redis 127.0.0.1:1988;
--- request eval
["GET /p", "GET /open"]
--- error_code eval
[503, 200]
--- response_headers eval
["Retry-After: 5\n!WWW-Authenticate\nContent-Type: application/json", ""]
--- response_body eval
[qq({"error":"temporarily_unavailable","error_description":"The consent service is temporarily unavailable"}\n), "open\n"]
--- error_log eval
[qr/\[error\] .*bluebutton: (could not connect to redis "127.0.0.1:1988"|lost the connection to redis)/,
 qr/\[error\] .*bluebutton: temporarily_unavailable \(unavailable\)/]



=== TEST 2: a Redis that never answers: 503 within the timeout, others unaffected
--- init
BB::start_fake(1989, 'silent');
--- http_config
    bluebutton_redis 127.0.0.1:1989;
    bluebutton_redis_timeout 200ms;
--- request eval
["GET /p", "GET /open", "GET /p"]
--- error_code eval
[503, 200, 503]
--- timeout: 1
--- error_log
bluebutton: redis "127.0.0.1:1989" did not answer within 200 ms, closing the connection
redis timed out



=== TEST 3: a peer that answers garbage
--- init
BB::start_fake(1989, 'garbage');
--- http_config
    bluebutton_redis 127.0.0.1:1989;
--- request eval
["GET /p", "GET /open"]
--- error_code eval
[503, 200]
--- error_log eval
qr/\[error\] .*redis "127.0.0.1:1989" sent a reply of unknown type: the reply is not read/



=== TEST 4: Redis killed between requests, then back without a reload
--- init
BB::start_redis(1990);
{ local $BB::Port = 1990; BB::consent('tok'); }
BB::start_control(sub { BB::consent('tok') });
--- http_config
    bluebutton_redis 127.0.0.1:1990;
--- pipelined_requests eval
["GET /p", "GET /control/redis/stop/1990", "GET /p", "GET /open",
 "GET /control/redis/start/1990", "GET /control/pause/400", "GET /p"]
--- error_code eval
[200, 200, 503, 200, 200, 200, 200]
--- response_body eval
["backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "ok\n", qq({"error":"temporarily_unavailable","error_description":"The consent service is temporarily unavailable"}\n),
 "open\n", "ok\n", "ok\n",
 "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n"]
--- error_log
lost the connection to redis "127.0.0.1:1990"



=== TEST 5: Redis stalled by DEBUG SLEEP longer than the timeout, then awake
--- init
BB::start_redis(1990);
{ local $BB::Port = 1990; BB::consent('tok'); }
BB::start_control();
--- http_config
    bluebutton_redis 127.0.0.1:1990;
    bluebutton_redis_timeout 150ms;
--- pipelined_requests eval
["GET /p", "GET /control/redis/sleep/1990/1", "GET /p", "GET /open",
 "GET /control/pause/1300", "GET /p"]
--- error_code eval
[200, 200, 503, 200, 200, 200]
--- timeout: 2
--- error_log
did not answer within 150 ms



=== TEST 5b: back within 250 ms of Redis, however long it was away
--- init
BB::start_redis(1990);
{ local $BB::Port = 1990; BB::consent('tok'); }
BB::start_control(undef, outage => sub {
    BB::stop_redis(1990);

    # an app calling every 20 ms through 4 s of outage: every call is
    # refused at once, and none may push the next attempt back
    my ($until, %seen) = (time + 4);
    while (time < $until) {
        $seen{BB::status_of('/p', 'tok')}++;
        sleep 0.02;
    }
    die "not only 503 during the outage: @{[ %seen ]}\n"
        unless keys %seen == 1 && $seen{503};

    # back: it answers PING when this returns
    BB::start_redis(1990);
    { local $BB::Port = 1990; BB::consent('tok'); }
    sleep 0.25;
});
--- http_config
    bluebutton_redis 127.0.0.1:1990;
--- pipelined_requests eval
["GET /p", "GET /control/do/outage", "GET /p"]
--- error_code eval
[200, 200, 200]
--- response_body eval
["backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "ok\n",
 "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n"]
--- timeout: 10
--- grep_error_log eval
qr/\[error\] \d+#\d+: \Kbluebutton: (?:lost the connection to|could not connect to) redis "127\.0\.0\.1:1990"/
--- grep_error_log_out
bluebutton: lost the connection to redis "127.0.0.1:1990"
--- error_log eval
qr/\[notice\] .*bluebutton: connected to redis "127\.0\.0\.1:1990" again after \d+ ms and \d+ failed attempts/



=== TEST 6: Redis down when nginx starts, up later: no reload needed
--- init
BB::stop_redis(1990);
BB::start_control(sub { BB::consent('tok') });
--- http_config
    bluebutton_redis 127.0.0.1:1990;
--- request eval
["GET /p", "GET /control/redis/start/1990", "GET /control/pause/3100", "GET /p"]
--- error_code eval
[503, 200, 200, 200]
--- timeout: 5



=== TEST 7: HUP reload: the new workers connect and allow as before
--- skip_eval: 6: $ENV{TEST_NGINX_USE_VALGRIND}
--- init
BB::flush();
BB::consent('tok');
BB::start_control();
--- request eval
["GET /p", "GET /control/nginx/hup", "GET /p", "GET /p"]
--- error_code eval
[200, 200, 200, 200]
--- no_error_log
[alert]
[crit]



=== TEST 8: AUTH with a password
--- init
BB::start_redis(1991, '--requirepass', 'pw1');
{ local $BB::Port = 1991; local $BB::Auth = ['pw1']; BB::consent('tok'); }
--- http_config
    bluebutton_redis 127.0.0.1:1991;
    bluebutton_redis_auth pw1;
--- request
GET /p
--- error_code: 200



=== TEST 9: a wrong password: 503 and the reason in the log
--- init
BB::start_redis(1991, '--requirepass', 'pw1');
--- http_config
    bluebutton_redis 127.0.0.1:1991;
    bluebutton_redis_auth wrong;
--- request
GET /p
--- error_code: 503
--- error_log
bluebutton: redis "127.0.0.1:1991" refused AUTH



=== TEST 9b: a refused AUTH is a failed attempt: the back-off holds, one error line
# requests every 50 ms for 2 s, with the cache's feed connecting as well
--- init
BB::start_redis(1991, '--requirepass', 'pw1');
BB::start_control(undef, flood => sub {
    my $start = time;
    while (time < $start + 2) {
        my $res = BB::http_get('/p', token => 'tok');
        die "got $res->{status}\n" unless $res->{status} == 503;
        sleep 0.05;
    }
    local $BB::Auth = ['pw1'];
    my ($n) = BB::command(1991, 'INFO', 'stats')
              =~ /total_connections_received:(\d+)/;
    print STDERR "# a refused AUTH: $n connections to Redis in 2 s\n";
    die "$n connections in 2 s\n" if $n > 30;
});
--- http_config
    bluebutton_redis 127.0.0.1:1991;
    bluebutton_redis_auth wrong;
    bluebutton_cache zone=decisions:1m;
--- config
    location /p {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location /control/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CONTROL_PORT;
        proxy_read_timeout 30s;
    }
--- request
GET /control/do/flood
--- response_body
ok
--- timeout: 10
--- grep_error_log eval: qr/\[error\] [^\n]*refused AUTH/
--- grep_error_log_out eval: qr/\A(\[error\][^\n]*refused AUTH\n){1,2}\z/
--- no_error_log
again after



=== TEST 10: no password where one is required
--- init
BB::start_redis(1991, '--requirepass', 'pw1');
--- http_config
    bluebutton_redis 127.0.0.1:1991;
--- request
GET /p
--- error_code: 503
--- error_log
redis answered: NOAUTH



=== TEST 11: an ACL user and password
--- init
BB::start_redis(1992, '--user', 'gw', 'on', '>gwpass', '~*', '&*', '+@all',
                '--user', 'default', 'off');
{ local $BB::Port = 1992; local $BB::Auth = ['gw', 'gwpass']; BB::consent('tok'); }
--- http_config
    bluebutton_redis 127.0.0.1:1992;
    bluebutton_redis_auth gw gwpass;
--- request
GET /p
--- error_code: 200



=== TEST 11b: the least an ACL user needs: read commands on the key prefix
--- init
BB::start_redis(1992, '--user', 'gw', 'on', '>gwpass', '~bb:*',
                '+get', '+mget', '+evalsha', '+eval',
                '--user', 'writer', 'on', '>wpass', '~*', '+@all',
                '--user', 'default', 'off');
{ local $BB::Port = 1992; local $BB::Auth = ['writer', 'wpass'];
  BB::consent('tok'); BB::token('tok-revoked', patient => '-3');
  BB::set('other:secret', 'x'); }
--- http_config
    bluebutton_redis 127.0.0.1:1992;
    bluebutton_redis_auth gw gwpass;
--- request eval
["GET /p", "GET /p"]
--- more_headers eval
["Authorization: Bearer tok", "Authorization: Bearer tok-revoked"]
--- error_code eval
[200, 401]
--- no_error_log
[error]



=== TEST 12: the script cache flushed under us: EVAL once, then on as before
--- init
BB::flush();
BB::consent('tok');
BB::redis('SCRIPT', 'FLUSH');
--- request eval
["GET /p", "GET /p"]
--- error_code eval
[200, 200]
--- no_error_log
[error]



=== TEST 13: a peer that sends a reply larger than any the gateway asks for
# 17 bulk strings of 1 MiB: each within its bound, the reply not
--- init
BB::serve(1989, sub {
    my ($c) = @_;
    sysread $c, my $buf, 4096;
    my $size = 1024 * 1024;
    print $c "*17\r\n";
    print $c "\$$size\r\n", 'x' x $size, "\r\n" for 1 .. 17;
});
--- http_config
    bluebutton_redis 127.0.0.1:1989;
    bluebutton_redis_timeout 5s;
--- request eval
["GET /p", "GET /open"]
--- error_code eval
[503, 200]
--- timeout: 10
--- error_log eval
qr/bluebutton: redis "127.0.0.1:1989" sent a bulk string larger than the reply's room of \d+: the reply is not read and the connection is closed/
