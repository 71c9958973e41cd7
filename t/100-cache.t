# bluebutton_cache: a hit reads nothing from Redis, and every change Redis
# makes to what a decision read (a grant or token deleted, a scope
# narrowed, a JWT revoked, a key expired, everything flushed) is seen by
# the next request in every worker; a lost invalidation feed never serves
# what it may have missed; stale_if_error serves only a confirmed allow.
#
# Under TEST_NGINX_USE_HUP one zone would carry entries across blocks, so
# the exact hits and misses below are left to the modes that start nginx
# per block.

use Test::Nginx::Socket $ENV{TEST_NGINX_USE_HUP}
    ? (skip_all => 'exact hits and misses need an nginx per block') : 'no_plan';
use BB;

repeat_each(1);
no_shuffle();
master_on();
workers(2);

check_accum_error_log();

BB::jwks('jwks-cache.json', BB::jwk('rsa1'));
our $Jwt = BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1',
                   claims => { jti => 'jti-cache-1' });

our $Patient = '-20140000008325';

# tokens whose hashes fall in one bucket of a zone with that many buckets
# (one per KiB): the first 32 bits of the hash pick it
sub same_bucket {
    my ($n, $buckets) = @_;
    my (@found, $want);
    for (my $i = 0; @found < $n; $i++) {
        my $t = "shared-$i";
        my $b = hex(substr(Digest::SHA::sha256_hex($t), 0, 8)) & ($buckets - 1);
        $want = $b unless defined $want;
        push @found, $t if $b == $want;
    }
    return @found;
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('http_config', <<'END')
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_cache zone=decisions:1m;
END
        unless defined $block->http_config;

    # a worker's first commands under valgrind can take longer than 300 ms
    my $http = $block->http_config;
    $block->set_value('http_config',
                      "    bluebutton_redis_timeout 2s;\n$http")
        if $ENV{TEST_NGINX_USE_VALGRIND} && $http !~ /bluebutton_redis_timeout/
           && !defined $block->must_die;

    BB::defaults($block);

    if (!defined $block->config) {
        $block->set_value('config', <<'END' . $BB::Control);
    location /p {
        bluebutton on;
        add_header X-Cache $bluebutton_cache_status always;
        add_header X-Worker $pid always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
END
    }

    $block->set_value('more_headers', 'Authorization: Bearer tok')
        unless defined $block->more_headers;
});

# Blocks with a private Redis wait 400 ms first: the real Test::Nginx
# starts nginx before "--- init" replaces that Redis, and the workers
# connect again within 200 ms of its return.

# each change is made, then the next requests must see it in every
# worker, a few milliseconds later at most
sub change_then {
    my ($change, $status, $token) = @_;
    return sub {
        $change->();
        BB::sleep(0.005);
        BB::in_every_worker('/p', $token || 'tok', $status);
    };
}

sub warm { BB::in_every_worker('/p', $_[0] || 'tok', 200) }

run_tests();

__DATA__

=== TEST 1: a hit is served without reading Redis
--- init
BB::flush();
BB::consent('tok');
BB::start_control(undef,
    reset => sub { BB::redis('CONFIG', 'RESETSTAT') },
    none => sub { my $n = BB::reads(); die "$n reads\n" if $n });
--- pipelined_requests eval
["GET /control/pause/100", "GET /p", "GET /control/do/reset", "GET /p",
 "GET /p", "GET /p", "GET /control/do/none"]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200]
--- response_headers eval
["", "X-Cache: MISS", "", "X-Cache: HIT", "X-Cache: HIT", "X-Cache: HIT", ""]
--- response_body eval
["ok\n",
 "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "ok\n",
 "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "ok\n"]
--- no_error_log
[error]
[warn]



=== TEST 2: the grant deleted: refused in every worker at once
--- init
BB::flush();
BB::consent('tok');
BB::start_control(undef, warm => \&main::warm,
    change => main::change_then(sub { BB::revoke_grant('app-1', $main::Patient) }, 401));
--- pipelined_requests eval
["GET /control/pause/100", "GET /control/do/warm", "GET /p",
 "GET /control/do/change", "GET /p"]
--- error_code eval
[200, 200, 200, 200, 401]
--- response_headers eval
["", "", "X-Cache: HIT", "", ""]
--- response_body eval
["ok\n", "ok\n",
 "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "ok\n",
 qq({"error":"invalid_token","error_description":"The beneficiary revoked this application's access"}\n)]



=== TEST 3: the token's record deleted
--- init
BB::flush();
BB::consent('tok');
BB::start_control(undef, warm => \&main::warm,
    change => main::change_then(sub { BB::revoke_token('tok') }, 401));
--- pipelined_requests eval
["GET /control/pause/100", "GET /control/do/warm", "GET /control/do/change",
 "GET /p"]
--- error_code eval
[200, 200, 200, 401]
--- response_body eval
["ok\n", "ok\n", "ok\n",
 qq({"error":"invalid_token","error_description":"The access token is unknown or was revoked"}\n)]



=== TEST 4: a narrower scope written over the token's record
--- init
BB::flush();
BB::consent('tok');
BB::start_control(undef, warm => \&main::warm,
    change => main::change_then(
        sub { BB::token('tok', scope => 'patient/Patient.read') }, 403));
--- config
    location /p {
        bluebutton on;
        bluebutton_scope patient/Coverage.read;
        add_header X-Cache $bluebutton_cache_status always;
        add_header X-Worker $pid always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location /control/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CONTROL_PORT;
    }
--- pipelined_requests eval
["GET /control/pause/100", "GET /control/do/warm", "GET /control/do/change",
 "GET /p"]
--- error_code eval
[200, 200, 200, 403]



=== TEST 5: a JWT's jti revoked; a cached JWT is not verified again
--- init
BB::flush();
BB::grant('app-1', $main::Patient);
BB::start_control(undef,
    warm => sub { main::warm($main::Jwt) },
    change => main::change_then(
        sub { BB::set('bb:revoked:jti-cache-1', '1') }, 401, $main::Jwt));
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-cache.json;
        add_header X-Cache $bluebutton_cache_status always;
        add_header X-Worker $pid always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location /control/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CONTROL_PORT;
    }
--- more_headers eval
"Authorization: Bearer $main::Jwt"
--- pipelined_requests eval
["GET /control/pause/100", "GET /control/do/warm", "GET /p",
 "GET /control/do/change", "GET /p"]
--- error_code eval
[200, 200, 200, 200, 401]
--- response_headers eval
["", "", "X-Cache: HIT", "", ""]
--- response_body eval
["ok\n", "ok\n",
 "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "ok\n",
 qq({"error":"invalid_token","error_description":"The access token was revoked"}\n)]



=== TEST 6: the grant's TTL runs out in Redis
--- init
BB::flush();
BB::consent('tok');
BB::start_control(undef, warm => \&main::warm,
    change => main::change_then(sub {
        BB::redis('PEXPIRE', BB::grant_key('app-1', $main::Patient), 100);
        BB::sleep(0.3);
    }, 401));
--- pipelined_requests eval
["GET /control/pause/100", "GET /control/do/warm", "GET /control/do/change",
 "GET /p"]
--- error_code eval
[200, 200, 200, 401]



=== TEST 6b: an entry read after a TTL was set is not served past it, announced or not
# Redis announces an expired key when it deletes it, which its background
# cycle may do much later (here never: it is switched off, as it is in
# effect on a large keyspace); the entry knows the TTL from its read
--- init
BB::start_redis(1993);
BB::command(1993, 'DEBUG', 'SET-ACTIVE-EXPIRE', '0');
{ local $BB::Port = 1993; BB::consent('tok'); }
BB::start_control(undef, expire => sub {
    BB::command(1993, 'PEXPIRE', BB::grant_key('app-1', $main::Patient), 700);
    BB::sleep(0.05);
});
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_cache zone=decisions:1m;
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
["GET /control/pause/400", "GET /p", "GET /control/do/expire", "GET /p",
 "GET /p", "GET /control/pause/900", "GET /p", "GET /control/redis/stop/1993"]
--- error_code eval
[200, 200, 200, 200, 200, 200, 401, 200]
--- response_headers eval
["", "X-Cache: MISS", "", "X-Cache: MISS", "X-Cache: HIT", "",
 "X-Cache: EXPIRED", ""]
--- no_error_log
refused PTTL



=== TEST 6c: a grant deleted while a lookup's reply is on its way: that reply allows, nothing is cached from it
# a relay holds the lookup connection's replies 300 ms, not the feed's
--- init
BB::flush();
BB::consent('tok');
BB::relay(1998, BB::port(), 0.3);
BB::start_control(undef, race => sub {
    main::warm();
    BB::token('tok');           # the entries go; each worker still knows the grant
    BB::sleep(0.05);
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ENV{TEST_NGINX_SERVER_PORT} || 1984)
        or die "gateway: $!\n";
    print $s "GET /p HTTP/1.0\r\nHost: localhost\r\nAuthorization: Bearer tok\r\n\r\n";
    BB::sleep(0.1);
    BB::revoke_grant('app-1', $main::Patient);
    my $first = do { local $/; <$s> } // '';
    BB::sleep(0.1);
    my $then = BB::http_get('/p', token => 'tok');
    my ($code) = $first =~ m{^HTTP/1\.\d (\d+)};
    die "in flight: $code, then $then->{status} "
        . ($then->{headers}{'x-cache'} // '') . "\n"
        unless $then->{status} == 401
               && ($then->{headers}{'x-cache'} // '') eq 'MISS';
});
--- http_config
    bluebutton_redis 127.0.0.1:1998;
    bluebutton_redis_timeout 3s;
    bluebutton_cache zone=decisions:1m;
--- pipelined_requests eval
["GET /control/pause/400", "GET /control/do/race"]
--- error_code eval
[200, 200]
--- response_body eval
["ok\n", "ok\n"]
--- timeout: 20



=== TEST 7: FLUSHALL drops everything
--- init
BB::flush();
BB::consent('tok');
BB::start_control(undef, warm => \&main::warm,
    change => main::change_then(sub { BB::flush() }, 401));
--- pipelined_requests eval
["GET /control/pause/100", "GET /control/do/warm", "GET /control/do/change",
 "GET /p"]
--- error_code eval
[200, 200, 200, 401]



=== TEST 8: the feed killed, then a revocation while it is down: never allowed
--- init
BB::flush();
BB::consent('tok');
BB::start_control(undef, warm => \&main::warm,
    kill => sub {
        BB::redis('CLIENT', 'KILL', 'TYPE', 'pubsub');
        BB::revoke_grant('app-1', $main::Patient);
        BB::in_every_worker('/p', 'tok', 401);
    },
    regrant => sub {
        BB::grant('app-1', $main::Patient);
        BB::sleep(0.3);
        BB::in_every_worker('/p', 'tok', 200);
    });
--- pipelined_requests eval
["GET /control/pause/100", "GET /control/do/warm", "GET /control/do/kill",
 "GET /p", "GET /control/do/regrant", "GET /p"]
--- error_code eval
[200, 200, 200, 401, 200, 200]
--- response_body eval
["ok\n", "ok\n", "ok\n",
 qq({"error":"invalid_token","error_description":"The beneficiary revoked this application's access"}\n),
 "ok\n",
 "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n"]
--- response_headers eval
["", "", "", "", "", "X-Cache: HIT"]
--- error_log eval
[qr/\[warn\] .*bluebutton: lost the invalidation feed from redis "127\.0\.0\.1:\d+" \(invalidation feed closed\): cached decisions are not served until it is back/,
 qr/\[notice\] .*bluebutton: the invalidation feed from redis "127\.0\.0\.1:\d+" is back after \d+ ms, the cache is in use again/]



=== TEST 9: an ACL user that may not use CLIENT: uncached, and it says why
--- init
BB::start_redis(1988);
BB::command(1988, 'ACL', 'SETUSER', 'gateway', 'on', '>gateway-pass',
            '~*', '&*', '+@all', '-client');
{ local $BB::Port = 1988; BB::consent('tok'); }
BB::start_control(undef,
    reset => sub { BB::command(1988, 'CONFIG', 'RESETSTAT') },
    three => sub {
        local $BB::Port = 1988;
        my $n = BB::reads();
        die "$n reads for 3 requests\n" unless $n >= 3;
    });
--- http_config
    bluebutton_redis 127.0.0.1:1988;
    bluebutton_redis_auth gateway gateway-pass;
    bluebutton_cache zone=decisions:1m;
--- pipelined_requests eval
["GET /control/pause/400", "GET /control/do/reset", "GET /p", "GET /p",
 "GET /p", "GET /control/do/three", "GET /control/redis/stop/1988"]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200]
--- response_headers eval
["", "", "X-Cache: BYPASS", "X-Cache: BYPASS", "X-Cache: BYPASS", "", ""]
--- response_body eval
["ok\n", "ok\n",
 "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "ok\n", "ok\n"]
--- error_log eval
qr/\[error\] .*bluebutton: redis "127\.0\.0\.1:1988" cannot track keys for the decision cache \(CLIENT ID: NOPERM[^)]*\): requests are not cached/



=== TEST 10: stale_if_error: Redis stopped, a confirmed allow still served; an unseen token is 503
--- init
BB::start_redis(1990);
{ local $BB::Port = 1990; BB::consent('tok'); }
BB::start_control(undef,
    warm => \&main::warm,
    unseen => sub {
        my $s = BB::status_of('/p', 'never-seen');
        die "unseen token: $s\n" unless $s == 503;
    });
--- http_config
    bluebutton_redis 127.0.0.1:1990;
    bluebutton_cache zone=decisions:1m;
    bluebutton_stale_if_error 30s;
--- pipelined_requests eval
["GET /control/pause/400", "GET /control/do/warm",
 "GET /control/redis/stop/1990", "GET /control/pause/400", "GET /p",
 "GET /control/do/unseen"]
--- error_code eval
[200, 200, 200, 200, 200, 200]
--- response_headers eval
["", "", "", "", "X-Cache: STALE", ""]
--- response_body eval
["ok\n", "ok\n", "ok\n", "ok\n",
 "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "ok\n"]
--- error_log eval
qr/\[warn\] .*bluebutton: redis cannot answer \([^)]+\): serving the allow it confirmed \d+ ms ago, within bluebutton_stale_if_error/



=== TEST 11: without stale_if_error, Redis stopped is 503 as without a cache
--- init
BB::start_redis(1990);
{ local $BB::Port = 1990; BB::consent('tok'); }
BB::start_control(undef, warm => \&main::warm);
--- http_config
    bluebutton_redis 127.0.0.1:1990;
    bluebutton_cache zone=decisions:1m;
--- pipelined_requests eval
["GET /control/pause/400", "GET /control/do/warm",
 "GET /control/redis/stop/1990", "GET /control/pause/400", "GET /p"]
--- error_code eval
[200, 200, 200, 200, 503]
--- response_headers eval
["", "", "", "", "X-Cache: EXPIRED\nRetry-After: 5"]



=== TEST 12: stale_if_error never serves a refusal, nor an allow older than it
--- init
BB::start_redis(1990);
{ local $BB::Port = 1990; BB::consent('tok'); BB::token('revoked'); }
BB::start_control(undef,
    warm => sub { main::warm(); BB::in_every_worker('/p', 'revoked', 401) });
--- http_config
    bluebutton_redis 127.0.0.1:1990;
    bluebutton_cache zone=decisions:1m;
    bluebutton_stale_if_error 1s;
--- pipelined_requests eval
["GET /control/pause/400", "GET /control/do/warm",
 "GET /control/redis/stop/1990", "GET /control/pause/1100", "GET /p"]
--- error_code eval
[200, 200, 200, 200, 503]
--- timeout: 6



=== TEST 13: a full zone evicts the least recently used, answers stay right
--- init
BB::flush();
BB::consent("many-$_", patient => "p$_") for 1 .. 400;
BB::start_control(undef,
    twice => sub {
        for my $round (1, 2) {
            for (1 .. 400) {
                my $s = BB::status_of('/p', "many-$_");
                die "many-$_: $s\n" unless $s == 200;
            }
        }
    },
    revoke => sub {
        BB::revoke_grant('app-1', "p$_") for 1, 400;
        BB::sleep(0.005);
        for (1, 400) {
            my $s = BB::status_of('/p', "many-$_");
            die "many-$_ after its revocation: $s\n" unless $s == 401;
        }
    });
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_cache zone=small:128k;
--- config
    location /p {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location = /metrics {
        bluebutton_status;
    }
    location /control/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CONTROL_PORT;
    }
--- pipelined_requests eval
["GET /control/pause/100", "GET /control/do/twice", "GET /control/do/revoke",
 "GET /metrics"]
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
["ok", "ok", "ok", qr/bluebutton_cache_evictions_total [1-9]\d*\n/]
--- timeout: 20
--- no_error_log
[error]
[crit]



=== TEST 14: after a reload, answers stay right and the cache fills again
--- init
BB::flush();
BB::consent('tok');
BB::start_control(undef,
    reload => sub {
        # the old workers close this connection: all of it from here
        BB::redis('CONFIG', 'RESETSTAT');
        BB::hup();
        main::warm();
        my $n = BB::reads();
        die "no reads after the reload\n" unless $n;
        BB::redis('CONFIG', 'RESETSTAT');
        main::warm();
        $n = BB::reads();
        die "$n reads once filled again\n" if $n;
        main::change_then(sub { BB::revoke_grant('app-1', $main::Patient) },
                          401)->();
    });
--- skip_eval: 10: $ENV{TEST_NGINX_USE_VALGRIND}
--- pipelined_requests eval
["GET /control/pause/100", "GET /p", "GET /p", "GET /control/do/reload"]
--- error_code eval
[200, 200, 200, 200]
--- response_headers eval
["", "X-Cache: MISS", "X-Cache: HIT", ""]
--- response_body eval
["ok\n",
 "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "ok\n"]



=== TEST 15: negative_ttl: an unknown token is remembered, until it is created
--- init
BB::flush();
BB::start_control(undef, create => sub { BB::consent('tok'); BB::sleep(0.005) });
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_cache zone=decisions:1m negative_ttl=30s;
--- pipelined_requests eval
["GET /control/pause/100", "GET /p", "GET /p", "GET /control/do/create",
 "GET /p"]
--- error_code eval
[200, 401, 401, 200, 200]
--- response_headers eval
["", "X-Cache: MISS", "X-Cache: HIT", "", "X-Cache: MISS"]



=== TEST 16: negative_ttl bounds how long an unknown token is remembered
--- init
BB::flush();
BB::start_control();
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_cache zone=decisions:1m negative_ttl=300ms;
--- pipelined_requests eval
["GET /control/pause/100", "GET /p", "GET /p", "GET /control/pause/400",
 "GET /p"]
--- error_code eval
[200, 401, 401, 200, 401]
--- response_headers eval
["", "X-Cache: MISS", "X-Cache: HIT", "", "X-Cache: EXPIRED"]



=== TEST 17: without negative_ttl an unknown token is asked about every time
--- init
BB::flush();
BB::start_control();
--- pipelined_requests eval
["GET /control/pause/100", "GET /p", "GET /p"]
--- error_code eval
[200, 401, 401]
--- response_headers eval
["", "X-Cache: MISS", "X-Cache: MISS"]



=== TEST 18: ttl bounds an entry even while nothing changes
--- init
BB::flush();
BB::consent('tok');
BB::start_control();
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_cache zone=decisions:1m ttl=300ms;
--- pipelined_requests eval
["GET /control/pause/100", "GET /p", "GET /p", "GET /control/pause/400",
 "GET /p", "GET /p"]
--- error_code eval
[200, 200, 200, 200, 200, 200]
--- response_headers eval
["", "X-Cache: MISS", "X-Cache: HIT", "", "X-Cache: EXPIRED", "X-Cache: HIT"]



=== TEST 19: an entry ends at the token's exp
--- init
BB::flush();
BB::consent('tok', exp => int(time()) + 2);
BB::start_control();
--- pipelined_requests eval
["GET /control/pause/100", "GET /p", "GET /p", "GET /control/pause/2500",
 "GET /p"]
--- error_code eval
[200, 200, 200, 200, 401]
--- response_headers eval
["", "X-Cache: MISS", "X-Cache: HIT", "", "X-Cache: MISS"]
--- timeout: 6



=== TEST 20: one client revokes while eight keep asking: no allow 50 ms after
--- init
BB::flush();
BB::consent('tok');
BB::start_control(undef,
    hammer => sub {
        main::warm();
        my ($late, $all, $early) = @{ BB::hammer(path => '/p', token => 'tok',
            clients => 8, seconds => 1.5,
            revoke => sub { BB::revoke_grant('app-1', $main::Patient) }) };
        die "$late allows after the revocation ($all requests)\n" if $late;
        die "no allows before the revocation ($all requests)\n" unless $early;
    });
--- request
GET /control/do/hammer
--- response_body
ok
--- timeout: 10



=== TEST 21: concurrent misses for one token share one lookup per worker
--- init
BB::start_redis(1990);
{ local $BB::Port = 1990; BB::consent('tok'); }
BB::start_control(undef,
    burst => sub {
        local $BB::Port = 1990;
        BB::status_of('/p', 'other');
        BB::redis('CONFIG', 'RESETSTAT');
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => 1990)
            or die "redis: $!\n";
        print $s "DEBUG SLEEP 0.3\r\n";
        BB::sleep(0.05);
        my @pids;
        for (1 .. 10) {
            my $pid = fork;
            if ($pid == 0) {
                POSIX::_exit(BB::status_of('/p', 'tok') == 200 ? 0 : 1);
            }
            push @pids, $pid;
        }
        for (@pids) { waitpid $_, 0; die "a request failed\n" if $? }
        my $n = BB::reads();
        die "$n reads for 10 requests in 2 workers\n" if $n > 4;
    });
--- http_config
    bluebutton_redis 127.0.0.1:1990;
    bluebutton_cache zone=decisions:1m;
--- pipelined_requests eval
["GET /control/pause/400", "GET /control/do/burst"]
--- error_code eval
[200, 200]
--- response_body eval
["ok\n", "ok\n"]
--- timeout: 5



=== TEST 21b: the cache's counters in bluebutton_status
--- init
BB::flush();
BB::consent('tok');
BB::start_control(undef, revoke => sub {
    BB::revoke_grant('app-1', $main::Patient);
    BB::sleep(0.005);
});
--- config
    location /p {
        bluebutton on;
        add_header X-Cache $bluebutton_cache_status always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location = /metrics {
        bluebutton_status;
    }
    location /control/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CONTROL_PORT;
    }
--- pipelined_requests eval
["GET /control/pause/100", "GET /p", "GET /p", "GET /p",
 "GET /control/do/revoke", "GET /p", "GET /metrics"]
--- error_code eval
[200, 200, 200, 200, 200, 401, 200]
--- response_headers eval
["", "X-Cache: MISS", "X-Cache: HIT", "X-Cache: HIT", "", "X-Cache: MISS", ""]
--- response_body_like eval
["ok", "backend", "backend", "backend", "ok", "invalid_token",
 qr/
bluebutton_cache_requests_total\{status="hit"\} 2
bluebutton_cache_requests_total\{status="miss"\} 2
bluebutton_cache_requests_total\{status="expired"\} 0
bluebutton_cache_requests_total\{status="stale"\} 0
bluebutton_cache_requests_total\{status="bypass"\} 0
# HELP bluebutton_cache_entries [^\n]+
# TYPE bluebutton_cache_entries gauge
bluebutton_cache_entries 1
# HELP bluebutton_cache_invalidations_total [^\n]+
# TYPE bluebutton_cache_invalidations_total counter
bluebutton_cache_invalidations_total 1
# HELP bluebutton_cache_evictions_total [^\n]+
# TYPE bluebutton_cache_evictions_total counter
bluebutton_cache_evictions_total 0
# HELP bluebutton_cache_feed_losses_total [^\n]+
# TYPE bluebutton_cache_feed_losses_total counter
bluebutton_cache_feed_losses_total 0
# HELP bluebutton_answers_total [^\n]+
# TYPE bluebutton_answers_total counter
(?:bluebutton_answers_total\{verdict="[a-z_]+"\} 0\n){10}# HELP bluebutton_redis_replies_refused_total [^\n]+
# TYPE bluebutton_redis_replies_refused_total counter
(?:bluebutton_redis_replies_refused_total\{reason="[a-z]+"\} 0\n){5}# HELP bluebutton_build_info [^\n]+
# TYPE bluebutton_build_info gauge
bluebutton_build_info\{version="[^"]+"\} 1
\z/]



=== TEST 22: no bluebutton_cache: BYPASS, as before
--- init
BB::flush();
BB::consent('tok');
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- request
GET /p
--- response_headers
X-Cache: BYPASS



=== TEST 22b: tokens made to share a bucket of the zone: the eight most recent kept, older ones dropped for them (counted as evictions) and read again, every answer right
--- init
BB::flush();
BB::grant('app-1', $main::Patient);
@main::Shared = main::same_bucket(10, 1024);
BB::token($_) for @main::Shared;
BB::start_control(undef, fill => sub {
    my $expect = sub {
        my ($t, $cache) = @_;
        my $r = BB::http_get('/p', token => $t);
        my $got = $r->{headers}{'x-cache'} || '';
        die "$t: $r->{status} $got, not 200 $cache\n"
            unless $r->{status} == 200 && $got eq $cache;
    };
    $expect->($_, 'MISS') for @main::Shared;
    $expect->($_, 'HIT') for @main::Shared[2 .. 9];
    # the first two were dropped for the last two; read again, each drops
    # the oldest there
    $expect->($_, 'MISS') for @main::Shared[0, 1];
    $expect->($_, 'HIT') for @main::Shared[0, 1, 4 .. 9];

    # a change in Redis still reaches an entry of a full bucket
    BB::revoke_token($main::Shared[6]);
    my $s = BB::status_of('/p', $main::Shared[6]);
    die "a revoked token got $s\n" unless $s == 401;
});
--- config
    location /p {
        bluebutton on;
        add_header X-Cache $bluebutton_cache_status always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location = /metrics {
        bluebutton_status;
    }
    location /control/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CONTROL_PORT;
    }
--- pipelined_requests eval
["GET /control/pause/100", "GET /control/do/fill", "GET /metrics"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
["ok", "ok", qr/bluebutton_cache_evictions_total 4\n/]
--- no_error_log
[error]



=== TEST 23: bluebutton_cache needs a zone size
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_cache zone=decisions;
--- config
--- must_die
--- error_log
"zone=decisions" needs a size: zone=NAME:SIZE



=== TEST 24: a zone too small
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_cache zone=decisions:16k;
--- config
--- must_die
--- error_log
zone "decisions" is too small: at least 128k



=== TEST 25: negative_ttl longer than ttl
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_cache zone=decisions:1m ttl=10s negative_ttl=1m;
--- config
--- must_die
--- error_log
"negative_ttl" must not exceed "ttl"



=== TEST 26: one zone for two Redis servers
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_cache zone=decisions:1m;
    server {
        listen 127.0.0.1:1985;
        bluebutton_redis 127.0.0.1:1988;
        location / { bluebutton on; }
    }
--- config
    location / { bluebutton on; }
--- must_die
--- error_log
cache zone "decisions" is used with another "bluebutton_redis" or "bluebutton_redis_prefix": a zone caches one Redis and one prefix



=== TEST 27: an unknown parameter, and a zero ttl
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_cache zone=decisions:1m ttl=0;
--- config
--- must_die
--- error_log
invalid "ttl=0": a positive time is needed



=== TEST 28: bluebutton_stale_if_error where no cache could serve it
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /p {
        bluebutton on;
        bluebutton_stale_if_error 30s;
    }
--- must_die
--- error_log
"bluebutton_stale_if_error" serves what "bluebutton_cache" remembers, and this server has no "bluebutton_cache"
