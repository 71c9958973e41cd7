# Redis Sentinel with real processes: a primary, a replica and three
# sentinels (redis-server --sentinel) on loopback, down-after-milliseconds
# 500.  The gateway asks the sentinels for the primary, reads only from a
# server that says ROLE master, follows a failover without a reload, and
# moves on +switch-master.
#
# Blocks follow one another through the topology each leaves (no_shuffle);
# the ones that need a fresh one start it.  Under TEST_NGINX_USE_HUP the
# blocks' own reloads would be mixed with the harness' ones: skipped.

use Test::Nginx::Socket $ENV{TEST_NGINX_USE_HUP}
    ? (skip_all => 'the blocks reload nginx themselves') : 'no_plan';
use BB;

repeat_each(1);
no_shuffle();
master_on();
check_accum_error_log();

our $Sentinels = <<'END';  # in every block unless it says otherwise
    bluebutton_redis_sentinel master=bbmaster
        127.0.0.1:1995 127.0.0.1:1996 127.0.0.1:1997;
END

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('http_config', $Sentinels)
        unless defined $block->http_config;

    BB::defaults($block);

    if (!defined $block->config) {
        $block->set_value('config', <<'END' . $BB::Control);
    location /p {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
END
    }

    $block->set_value('more_headers', 'Authorization: Bearer tok')
        unless defined $block->more_headers;
});

# the certificates must exist before the first nginx reads them
BB::tls_files();

# the valid token, and one whose client has no grant
sub seed {
    local $BB::Port = shift;
    BB::consent('tok');
    BB::token('gone', client_id => 'app-2');
}

run_tests();

__DATA__

=== TEST 1: the primary the sentinels name, found past a sentinel that is down
--- init
BB::start_sentinels(1990, 1991, [1995, 1996, 1997]);
main::seed(1990);
BB::command(1990, 'WAIT', 1, 2000) == 1 or die "not replicated\n";
BB::command($_, 'CONFIG', 'RESETSTAT') for 1990, 1991;
BB::start_control(undef, reads => sub {
    die "replica read\n" if BB::lookups_on(1991);
    die "primary not read\n" unless BB::lookups_on(1990);
});
--- http_config
    bluebutton_redis_sentinel master=bbmaster
        127.0.0.1:1994 127.0.0.1:1995 127.0.0.1:1996;
--- pipelined_requests eval
["GET /p", "GET /control/do/reads"]
--- error_code eval
[200, 200]
--- response_body eval
["backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "ok\n"]
--- error_log
could not connect to sentinel "127.0.0.1:1994"
--- no_error_log
is not the primary



=== TEST 2: the primary killed under a steady stream: 200s, then 503s with Retry-After, then 200s from the new primary
--- init
BB::start_control(undef, failover => sub {
    my $n = BB::stream(path => '/p', token => 'tok', refused => 'gone',
                       fault => sub { BB::kill_redis(1990) });

    print STDERR "# failover: $n->{ok} allowed, $n->{unavailable} 503 with "
                 . "Retry-After, $n->{wrong} wrong, gap $n->{gap} ms\n";

    die "wrong answers: $n->{wrong}\n" if $n->{wrong};
    die "not back\n" if $n->{gap} < 0;

    my $new = BB::primary_of(1995);
    die "no new primary\n" unless $new == 1991;

    # revoked on the new primary: seen by the next request
    { local $BB::Port = 1991; BB::revoke_grant('app-1', '-20140000008325'); }
    my $s = BB::status_of('/p', 'tok');
    die "revocation on the new primary not seen: $s\n" unless $s == 401;

    # the old primary back with the revoked grant still in it
    BB::start_redis(1990);
    main::seed(1990);
    BB::command(1990, 'CONFIG', 'RESETSTAT');
    for (1 .. 10) {
        $s = BB::status_of('/p', 'tok');
        die "the old primary's grant was used: $s\n" unless $s == 401;
    }
    die "the old primary was read\n" if BB::lookups_on(1990);
});
--- pipelined_requests eval
["GET /p", "GET /control/do/failover"]
--- error_code eval
[200, 200]
--- response_body eval
["backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "ok\n"]
--- timeout: 30
--- error_log eval
qr/bluebutton: connected to redis "127\.0\.0\.1:1991" again after \d+ ms/
--- no_error_log
[crit]



=== TEST 3: +switch-master moves the connections while the old primary still answers; HUP keeps working
--- init
BB::start_sentinels(1990, 1991, [1995, 1996, 1997]);
main::seed(1990);
BB::command(1990, 'WAIT', 1, 2000) == 1 or die "not replicated\n";
BB::start_control(undef, switch => sub {
    BB::command(1995, 'SENTINEL', 'FAILOVER', 'bbmaster');
    my $deadline = time + 15;
    sleep 0.05 until BB::primary_of(1995) == 1991 || time > $deadline;
    die "no switch\n" unless BB::primary_of(1995) == 1991;
    sleep 0.3;

    BB::command($_, 'CONFIG', 'RESETSTAT') for 1990, 1991;
    for (1 .. 10) {
        my $s = BB::status_of('/p', 'tok');
        die "got $s after the switch\n" unless $s == 200;
    }
    die "the demoted primary was read\n" if BB::lookups_on(1990);
    die "the new primary was not read\n" unless BB::lookups_on(1991);

    # new workers ask the sentinels again (under valgrind nginx runs as
    # a single process, which does not reload)
    return if $ENV{TEST_NGINX_USE_VALGRIND};
    BB::hup();
    my $s = BB::status_of('/p', 'tok');
    die "got $s after a reload\n" unless $s == 200;
});
--- pipelined_requests eval
["GET /p", "GET /control/do/switch"]
--- error_code eval
[200, 200]
--- response_body eval
["backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "ok\n"]
--- timeout: 30
--- error_log eval
qr/\[notice\] .*bluebutton: sentinel "127\.0\.0\.1:199\d" says the primary of "bbmaster" moved from "127\.0\.0\.1:1990" to "127\.0\.0\.1:1991"/



=== TEST 3b: with the decision cache, a failover stops serving what the old primary said
--- init
BB::start_control(undef, switch_back => sub {
    # the demoted primary follows the new one now: the sentinels would
    # wait 8 s before telling it to, and their next INFO comes 10 s later
    BB::command(1990, 'REPLICAOF', '127.0.0.1', 1991);
    my $deadline = time + 20;
    sleep 0.05 until (BB::command(1990, 'ROLE')->[3] || '') eq 'connected'
                     || time > $deadline;
    die "the demoted primary did not sync\n"
        unless (BB::command(1990, 'ROLE')->[3] || '') eq 'connected';

    # refused while the sentinels still finish the first failover
    $deadline = time + 30;
    until (eval { BB::command(1995, 'SENTINEL', 'FAILOVER', 'bbmaster') }) {
        die "no failover: $@" if time > $deadline;
        sleep 0.2;
    }
    $deadline = time + 20;
    sleep 0.05 until BB::primary_of(1995) == 1990 || time > $deadline;
    die "no switch\n" unless BB::primary_of(1995) == 1990;

    # written to the new primary only; nothing of the old may be served
    { local $BB::Port = 1990; BB::revoke_grant('app-1', '-20140000008325'); }
    my $s = BB::status_of('/p', 'tok');
    die "got $s after the revocation on the new primary\n" unless $s == 401;
});
--- http_config eval
$::Sentinels . "    bluebutton_cache zone=failover:1m ttl=60s;\n"
--- config
    location /p {
        bluebutton on;
        add_header X-Cache $bluebutton_cache_status always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }

    location /control/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CONTROL_PORT;
        proxy_read_timeout 90s;
    }
--- pipelined_requests eval
["GET /control/pause/400", "GET /p", "GET /p", "GET /control/do/switch_back"]
--- error_code eval
[200, 200, 200, 200]
--- response_headers eval
["", "X-Cache: MISS", "X-Cache: HIT", ""]
--- response_body eval
["ok\n",
 "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "ok\n"]
--- timeout: 90
--- error_log eval
qr/\[warn\] .*bluebutton: lost the invalidation feed from redis "127\.0\.0\.1:1991"/



=== TEST 4: every sentinel down while the primary is fine: the known primary stays in use
--- init
main::seed(1990);
BB::start_control(undef,
    sentinels_down => sub { BB::stop_redis($_) for 1995, 1996, 1997 },
    drop => sub { BB::command(1990, 'CLIENT', 'KILL', 'TYPE', 'normal') });
--- pipelined_requests eval
["GET /p", "GET /control/do/sentinels_down", "GET /p",
 "GET /control/do/drop", "GET /control/pause/400", "GET /p"]
--- error_code eval
[200, 200, 200, 200, 200, 200]
--- error_log eval
qr/\[warn\] .*bluebutton: no sentinel could be asked for the primary of "bbmaster", trying the last one named, "127\.0\.0\.1:1990"/



=== TEST 5: a sentinel that names a replica: nothing is read from it
--- init
BB::stop_redis($_) for 1995, 1996, 1997;
BB::start_redis(1990);
BB::start_redis(1991, '--replicaof', '127.0.0.1', 1990);
main::seed(1990);
BB::command(1991, 'CONFIG', 'RESETSTAT');
# a sentinel that names the replica; a subscriber is answered and let go
BB::serve(1995, sub {
    my ($c) = @_;
    while (my $line = <$c>) {
        next unless $line =~ /^\$\d/;
        my $word = <$c>;
        if ($word =~ /^SENTINEL/i) {
            <$c> for 1 .. 4;
            print $c "*2\r\n\$9\r\n127.0.0.1\r\n\$4\r\n1991\r\n";
        } elsif ($word =~ /^SUBSCRIBE/i) {
            <$c> for 1 .. 2;
            print $c "*3\r\n\$9\r\nsubscribe\r\n\$14\r\n+switch-master\r\n:1\r\n";
            return;
        }
    }
});
BB::start_control(undef, reads => sub {
    die "the replica was read\n" if BB::lookups_on(1991);
});
--- http_config
    bluebutton_redis_sentinel master=bbmaster 127.0.0.1:1995;
--- pipelined_requests eval
["GET /p", "GET /control/do/reads"]
--- error_code eval
[503, 200]
--- response_headers eval
["Retry-After: 5\n!WWW-Authenticate", ""]
--- error_log
bluebutton: redis "127.0.0.1:1991" is not the primary of "bbmaster" (ROLE: slave), asking the sentinels again



=== TEST 6: sentinels that require a password (bluebutton_redis_sentinel_auth), a primary read as the least ACL user of docs/operations.md
--- init
BB::stop_fake(1995);
BB::start_sentinels(1990, 1991, [1995, 1996, 1997], password => 'watchword');
main::seed(1990);
for my $port (1990, 1991) {
    BB::command($port, qw(ACL SETUSER gateway on >gwsecret resetkeys ~bb:*
                          resetchannels &__redis__:invalidate -@all +get +mget
                          +eval +evalsha +role +pttl +client|id
                          +client|tracking +subscribe));
}
BB::start_control();
--- http_config
    bluebutton_redis_sentinel master=bbmaster
        127.0.0.1:1995 127.0.0.1:1996 127.0.0.1:1997;
    bluebutton_redis_sentinel_auth watchword;
    bluebutton_redis_auth gateway gwsecret;
    bluebutton_cache zone=acl:1m;
--- config
    location /p {
        bluebutton on;
        add_header X-Cache $bluebutton_cache_status always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }

    location /control/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CONTROL_PORT;
    }
--- pipelined_requests eval
["GET /control/pause/400", "GET /p", "GET /p"]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["", "X-Cache: MISS", "X-Cache: HIT"]
--- no_error_log
refused to name
NOPERM
cannot track
temporarily_unavailable



=== TEST 7: the same sentinels without the password: 503, and the sentinel's refusal logged
--- request
GET /p
--- error_code: 503
--- response_headers
Retry-After: 5
--- error_log eval
qr/\[error\] .*bluebutton: sentinel "127\.0\.0\.1:1995" refused AUTH|bluebutton: sentinel "127\.0\.0\.1:1995" refused to name the primary of "bbmaster": NOAUTH/



=== TEST 7b: TLS to the sentinel and to the primary it names
--- init
BB::stop_redis($_) for 1995, 1996, 1997;
BB::start_tls_redis(1990, 1993);
BB::start_tls_sentinel(1995, 1998, 1993);
main::seed(1990);
--- http_config
    bluebutton_redis_sentinel master=bbmaster 127.0.0.1:1998;
    bluebutton_redis_timeout 3s;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_trusted_certificate $TEST_NGINX_REDIS_DIR/tls/ca.crt;
    bluebutton_redis_ssl_name redis.test;
--- request
GET /p
--- response_body
backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]
--- error_log eval
[qr/bluebutton: TLS to sentinel "127\.0\.0\.1:1998"/,
 qr/bluebutton: TLS to redis "127\.0\.0\.1:1993"/]
--- no_error_log
is not trusted
temporarily_unavailable



=== TEST 8: bluebutton_redis and bluebutton_redis_sentinel in one block
--- http_config
    bluebutton_redis 127.0.0.1:1990;
    bluebutton_redis_sentinel master=bbmaster 127.0.0.1:1995;
--- config
--- must_die
--- error_log
"bluebutton_redis_sentinel" directive cannot be used with "bluebutton_redis" in the same block



=== TEST 9: the other way round
--- http_config
    bluebutton_redis_sentinel master=bbmaster 127.0.0.1:1995;
    bluebutton_redis 127.0.0.1:1990;
--- config
--- must_die
--- error_log
"bluebutton_redis" directive cannot be used with "bluebutton_redis_sentinel" in the same block



=== TEST 10: no master name
--- http_config
    bluebutton_redis_sentinel 127.0.0.1:1995 127.0.0.1:1996;
--- config
--- must_die
--- error_log
"bluebutton_redis_sentinel" directive takes "master=NAME" first



=== TEST 11: a sentinel on a unix socket
--- http_config
    bluebutton_redis_sentinel master=bbmaster unix:/tmp/sentinel.sock;
--- config
--- must_die
--- error_log
"bluebutton_redis_sentinel" directive takes sentinels' TCP addresses



=== TEST 12: bluebutton_redis_sentinel_auth without sentinels
--- http_config
    bluebutton_redis 127.0.0.1:1990;
    bluebutton_redis_sentinel_auth watchword;
--- config
    location /p {
        bluebutton on;
        return 200;
    }
--- must_die
--- error_log
"bluebutton_redis_sentinel_auth" is set but Redis is "127.0.0.1:1990"



=== TEST 13: a server block may use its own sentinels, another a plain address
--- init
BB::consent('tok');
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;

    server {
        listen 127.0.0.1:$TEST_NGINX_H2_PORT;
        bluebutton_redis_sentinel master=bbmaster 127.0.0.1:1995;

        location / {
            return 200 "other\n";
        }
    }
--- request
GET /p
--- error_code: 200
