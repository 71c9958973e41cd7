# Redis Cluster with real processes: six redis-server --cluster-enabled
# yes on loopback made into three primaries and three replicas by
# redis-cli --cluster create, cluster-node-timeout 1000.  The gateway is
# given one seed node; it learns the slots, reads each key from its
# primary, follows MOVED and ASK, and keeps the decision cache exact on
# every primary.
#
# Blocks follow one another through the cluster each leaves (no_shuffle);
# the ones that need a fresh one start it.  Under TEST_NGINX_USE_HUP the
# blocks' own reloads would be mixed with the harness' ones: skipped.

use Test::Nginx::Socket $ENV{TEST_NGINX_USE_HUP}
    ? (skip_all => 'the blocks reload nginx themselves') : 'no_plan';
use BB;
use Time::HiRes ();

repeat_each(1);
no_shuffle();
master_on();
workers(2);
check_accum_error_log();

our @Nodes = (2001 .. 2006);
our $Body = "backend GET /p patient=[patientId:%s] client=[%s] app=[] "
            . "authorization=[]\n";

BB::jwks('jwks-cluster.json', BB::jwk('rsa1'));

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('http_config', <<'END')
    bluebutton_redis_cluster 127.0.0.1:2002;
    bluebutton_redis_timeout 2s;
END
        unless defined $block->http_config;

    BB::defaults($block);

    if (!defined $block->config) {
        $block->set_value('config', <<'END' . $BB::Control);
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-cluster.json;
        add_header X-Cache $bluebutton_cache_status always;
        add_header X-Worker $pid always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location = /metrics {
        bluebutton_status;
    }
END
    }
});

# the certificates must exist before the first nginx reads them
BB::tls_files();

# Tokens tok-1 .. tok-24, each with its own client and patient, so that
# records and grants sit in slots of every primary; "gone" has no grant.
sub seed {
    BB::flush();
    for my $i (1 .. 24) {
        BB::consent("tok-$i", client_id => "app-$i", patient => patient($i));
    }
    BB::token('gone', client_id => 'app-gone');
    BB::cluster_synced();
}

sub patient { "-2014000000" . (7000 + $_[0]) }

# every worker answers 200 for the token, $times rounds in a row, within
# 15 s: the cluster and the workers' maps have settled
sub settled {
    my ($token, $times) = @_;
    my ($deadline, $row) = (time + 15, 0);
    while ($row < $times) {
        if (eval { BB::in_every_worker('/p', $token, 200) }) {
            $row++;
            next;
        }
        die "not settled for $token: $@" if time > $deadline;
        $row = 0;
        Time::HiRes::sleep(0.1);
    }
}

# the primaries among the nodes that answer
sub primaries {
    grep { (eval { BB::command($_, 'ROLE')->[0] } || '') eq 'master' }
        @BB::Cluster;
}

# a token whose record and grant both sit on the primary on $port, made
# when none of tok-1 .. tok-24 is; none of those in %$used
sub token_on {
    my ($port, $used) = @_;
    for my $i (1 .. 999) {
        next if $used && $used->{$i};
        next unless BB::primary_of_key(BB::token_key("tok-$i")) == $port;
        next unless BB::primary_of_key(BB::grant_key("app-$i", patient($i)))
                    == $port;
        BB::consent("tok-$i", client_id => "app-$i", patient => patient($i))
            if $i > 24;
        $used->{$i} = 1 if $used;
        return $i;
    }
    die "no token on $port\n";
}

# how many times a node ran a command since CONFIG RESETSTAT
sub calls {
    my ($port, $name) = @_;
    my $stats = BB::command($port, 'INFO', 'commandstats');
    return $stats =~ /^cmdstat_$name:calls=(\d+)/m ? $1 : 0;
}

# bluebutton_redis_commands_total{result="$result"}, summed by the zone
sub commands_counted {
    my ($result) = @_;
    my $text = BB::http_get('/metrics')->{body};
    return $text =~ /^bluebutton_redis_commands_total\{result="$result"\} (\d+)/m
           ? $1 : die "no $result count\n";
}

sub statuses {
    my ($path, $want, @tokens) = @_;
    for my $t (@tokens) {
        my $s = BB::status_of($path, $t);
        die "$t: got $s, not $want\n" unless $s == $want;
    }
}

run_tests();

# the files after this one do not share the machine with a cluster
BB::stop_redis($_) for @Nodes;

__DATA__

=== TEST 1: tokens whose records and grants sit on every primary, read from the primaries only, given one seed
--- init
BB::start_cluster(\@main::Nodes);
main::seed();
BB::command($_, 'CONFIG', 'RESETSTAT') for @BB::Cluster;
BB::start_control(undef, every => sub {
    my (%record, %grant);
    $record{ BB::primary_of_key(BB::token_key("tok-$_")) }++ for 1 .. 24;
    $grant{ BB::primary_of_key(BB::grant_key("app-$_", main::patient($_))) }++
        for 1 .. 24;
    die "the tokens do not cover every primary\n"
        unless keys %record == 3 && keys %grant == 3;

    main::statuses('/p', 200, map { "tok-$_" } 1 .. 24);
    main::statuses('/p', 401, 'gone', 'unknown');

    for my $port (@BB::Cluster) {
        my $gets = main::calls($port, 'get');
        my $primary = BB::command($port, 'ROLE')->[0] eq 'master';
        die "primary $port not read\n" if $primary && !$gets;
        die "replica $port read\n" if !$primary && $gets;
    }
});
--- pipelined_requests eval
["GET /p", "GET /control/do/every"]
--- more_headers
Authorization: Bearer tok-1
--- error_code eval
[200, 200]
--- response_body eval
[sprintf($::Body, main::patient(1), 'app-1'), "ok\n"]



=== TEST 2: a revoked grant and a deleted token are refused at once; a grant given again is allowed
--- init
BB::start_control(undef, revoke => sub {
    main::statuses('/p', 200, 'tok-2', 'tok-3');
    BB::revoke_grant('app-2', main::patient(2));
    BB::revoke_token('tok-3');
    main::statuses('/p', 401, 'tok-2', 'tok-3');
    BB::grant('app-2', main::patient(2));
    BB::consent('tok-3', client_id => 'app-3', patient => main::patient(3));
    main::statuses('/p', 200, 'tok-2', 'tok-3');
});
--- request
GET /control/do/revoke
--- response_body
ok



=== TEST 3: a JWT: its grant and its revocation key read from their own primaries
--- init
BB::start_control(undef, jwt => sub {
    my $grant = BB::primary_of_key(BB::grant_key('app-4', main::patient(4)));
    my ($jti) = grep { BB::primary_of_key("bb:revoked:$_") != $grant }
                map { "jti-cluster-$_" } 1 .. 20;
    my $jwt = BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1',
                      claims => { sub => main::patient(4),
                                  client_id => 'app-4', jti => $jti });
    main::statuses('/p', 200, $jwt);
    BB::set("bb:revoked:$jti", '1');
    main::statuses('/p', 401, $jwt);
});
--- request
GET /control/do/jwt
--- response_body
ok



=== TEST 4: a slot moved (MOVED) and a key moved while its slot is half moved (ASK): allowed, the map follows
--- init
BB::start_control(undef, move => sub {
    my $key = BB::token_key('tok-5');
    my $from = BB::primary_of_key($key);
    my ($to) = grep { $_ != $from } main::primaries();
    my $errors = main::commands_counted('error');

    # ASK: the key is on the new primary, its slot still on the old one
    BB::move_slot($key, $to, sub {
        my $slot = BB::command($from, 'CLUSTER', 'KEYSLOT', $key);
        my @keys = @{ BB::command($from, 'CLUSTER', 'GETKEYSINSLOT', $slot, 100) };
        BB::command($from, 'MIGRATE', '127.0.0.1', $to, '', 0, 5000,
                    'KEYS', @keys);
        main::statuses('/p', 200, ('tok-5') x 4);
    });

    # MOVED: the slot has its new primary for good
    main::statuses('/p', 200, ('tok-5') x 4);
    die "not moved\n" unless BB::primary_of_key($key) == $to;

    # a redirection is not an error of Redis's
    my $now = main::commands_counted('error');
    die "redirections counted as errors: $errors, then $now\n"
        unless $now == $errors;

    # the map asked again meanwhile, logged
    Time::HiRes::sleep(0.3);
});
--- request
GET /control/do/move
--- response_body
ok
--- error_log eval
qr/\[notice\] .*bluebutton: redis cluster "127\.0\.0\.1:2002": \d+ slot ranges from "[\d.:]+", [1-9]\d* slots moved/
--- no_error_log
[error]



=== TEST 5: redis-cli --cluster reshard under load: every request answered 200
--- init
BB::start_control(undef, reshard => sub {
    my ($from, $to) = main::primaries();
    my $id = sub { BB::command($_[0], 'CLUSTER', 'MYID') };
    my $n = BB::load(path => '/p', tokens => [map { "tok-$_" } 1 .. 24],
                     during => sub {
        my $out = `redis-cli --cluster reshard 127.0.0.1:$from --cluster-from @{[ $id->($from) ]} --cluster-to @{[ $id->($to) ]} --cluster-slots 1500 --cluster-yes --cluster-pipeline 10 2>&1`;
        die "reshard failed: $out" if $?;
    });
    my $all = 0;
    $all += $_ for values %$n;
    print STDERR "# reshard of 1500 slots under load: $all requests, "
                 . join(', ', map { "$n->{$_} $_" } sort keys %$n) . "\n";
    die "not only 200s\n" if keys %$n != 1 || !$n->{200};
});
--- request
GET /control/do/reshard
--- response_body
ok
--- timeout: 120



=== TEST 6: a primary killed under load: 503 with Retry-After meanwhile, never a 401 for a valid token nor an allow for a revoked grant, back without a reload
--- init
BB::start_control(undef, failover => sub {
    my ($victim) = main::primaries();
    my $i = main::token_on($victim);
    my $n = BB::stream(path => '/p', token => "tok-$i", refused => 'gone',
                       fault => sub { BB::kill_redis($victim) });

    print STDERR "# failover (cluster-node-timeout 1000): $n->{ok} allowed, "
                 . "$n->{unavailable} 503 with Retry-After, $n->{wrong} "
                 . "wrong, gap $n->{gap} ms\n";

    die "wrong answers: $n->{wrong}\n" if $n->{wrong};
    die "not back\n" if $n->{gap} < 0;

    # revoked after the failover, on the promoted replica: the next request
    @BB::Cluster = grep { $_ != $victim } @BB::Cluster;
    BB::revoke_grant("app-$i", main::patient($i));
    main::statuses('/p', 401, "tok-$i");
});
--- request
GET /control/do/failover
--- response_body
ok
--- timeout: 60
--- error_log eval
qr/bluebutton: redis cluster "127\.0\.0\.1:2002": .*slots moved/



=== TEST 7: with the cache, a revocation is seen in every worker within 50 ms: on every primary, for a key whose slot just moved, and after a failover for a key now on a promoted replica
--- init
BB::start_cluster(\@main::Nodes);
main::seed();
BB::start_control(undef, revoke => sub {
    my (@late, %used);
    my $hammer = sub {
        my ($i) = @_;
        eval { BB::in_every_worker('/p', "tok-$i", 200) }
            or die "tok-$i before its revocation: $@";
        my $r = BB::hammer(path => '/p', token => "tok-$i", seconds => 1,
                           revoke => sub {
                               BB::revoke_grant("app-$i", main::patient($i));
                           });
        push @late, "tok-$i: $r->[0] of $r->[1] allowed late, $r->[2] before";
        die "tok-$i allowed after its revocation: @late\n" if $r->[0];
        die "tok-$i never allowed\n" unless $r->[2];
    };

    # nginx started before this cluster: every worker has its map first
    main::settled("tok-1", 1);

    # a token of each primary
    $hammer->(main::token_on($_, \%used)) for main::primaries();

    # the grant's slot moved to another primary, then revoked
    my ($i) = grep { !$used{$_}++ } 1 .. 24;
    my $grant = BB::grant_key("app-$i", main::patient($i));
    my $from = BB::primary_of_key($grant);
    my ($to) = grep { $_ != $from } main::primaries();
    BB::in_every_worker('/p', "tok-$i", 200);
    BB::move_slot($grant, $to);
    eval { BB::in_every_worker('/p', "tok-$i", 200) }
        or die "after its grant's slot moved: $@";
    $hammer->($i);

    # a primary killed; its replica promoted; revoked there
    my ($victim) = grep { $_ != $to } main::primaries();
    my $j = main::token_on($victim, \%used);
    BB::in_every_worker('/p', "tok-$j", 200);
    BB::kill_redis($victim);
    @BB::Cluster = grep { $_ != $victim } @BB::Cluster;
    # 503s until the replica is promoted and every worker's map says so
    main::settled("tok-$j", 3);
    $hammer->($j);

    print STDERR "# $_\n" for @late;
});
--- http_config
    bluebutton_redis_cluster 127.0.0.1:2002;
    bluebutton_redis_timeout 2s;
    bluebutton_cache zone=cluster:1m ttl=60s;
--- request
GET /control/do/revoke
--- response_body
ok
--- timeout: 90



=== TEST 7b: with the cache, a JWT's revocation key, absent when read, whose slot then moved: the revocation is seen once the map has the move
--- init
BB::start_control(undef, absent => sub {
    my ($from) = main::primaries();
    my ($to) = grep { $_ != $from } main::primaries();
    my $grant = BB::primary_of_key(BB::grant_key('app-9', main::patient(9)));
    my ($jti) = grep { my $p = BB::primary_of_key("bb:revoked:$_");
                       $p == $from && $p != $grant }
                map { "jti-absent-$_" } 1 .. 50;
    BB::grant('app-9', main::patient(9));
    my $jwt = BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1',
                      claims => { sub => main::patient(9),
                                  client_id => 'app-9', jti => $jti });
    BB::in_every_worker('/p', $jwt, 200);
    my $res = BB::http_get('/p', token => $jwt);
    die "not a hit\n" unless $res->{headers}{'x-cache'} eq 'HIT';

    # nothing to migrate: no node announces anything
    BB::move_slot("bb:revoked:$jti", $to);

    # the next map (refresh=300ms) has the move
    Time::HiRes::sleep(0.6);
    BB::set("bb:revoked:$jti", '1');
    Time::HiRes::sleep(0.05);
    for (1 .. 10) {
        my $s = BB::status_of('/p', $jwt);
        die "revoked, still allowed: $s\n" unless $s == 401;
    }
});
--- http_config
    bluebutton_redis_cluster 127.0.0.1:2002 refresh=300ms;
    bluebutton_redis_timeout 2s;
    bluebutton_cache zone=cluster:1m ttl=60s;
--- request
GET /control/do/absent
--- response_body
ok
--- timeout: 30



=== TEST 8: cached decisions: a hit reads nothing from any node
--- init
BB::start_cluster(\@main::Nodes);
main::seed();
BB::start_control(undef, hits => sub {
    BB::in_every_worker('/p', "tok-$_", 200) for 1 .. 6;
    BB::command($_, 'CONFIG', 'RESETSTAT') for @BB::Cluster;
    for (1 .. 5) {
        for my $i (1 .. 6) {
            my $res = BB::http_get('/p', token => "tok-$i");
            die "tok-$i: $res->{status} $res->{headers}{'x-cache'}\n"
                unless $res->{status} == 200
                       && $res->{headers}{'x-cache'} eq 'HIT';
        }
    }
    for my $port (@BB::Cluster) {
        die "$port read on a hit\n"
            if main::calls($port, 'get') + main::calls($port, 'pttl');
    }
});
--- http_config
    bluebutton_redis_cluster 127.0.0.1:2002;
    bluebutton_redis_timeout 2s;
    bluebutton_cache zone=cluster:1m ttl=60s;
--- request
GET /control/do/hits
--- response_body
ok



=== TEST 9: the least ACL user on every node: reads, the map, tracking; cached
--- init
BB::start_cluster(\@main::Nodes);
main::seed();
for my $port (@BB::Cluster) {
    BB::command($port, 'ACL', 'SETUSER', 'gateway', 'on', '>gateway-pass',
                'resetkeys', '%R~bb:*', 'resetchannels',
                '&__redis__:invalidate', '-@all', '+get', '+pttl',
                '+asking', '+cluster|shards', '+cluster|slots',
                '+client|id', '+client|tracking', '+subscribe', '+ping');
}
BB::start_control(undef, cached => sub {
    # the user is made after nginx started: its first AUTHs were refused
    Time::HiRes::sleep(0.5);
    BB::in_every_worker('/p', "tok-$_", 200) for 1 .. 3;
    my $res = BB::http_get('/p', token => 'tok-1');
    die "not a hit\n" unless $res->{headers}{'x-cache'} eq 'HIT';
});
--- http_config
    bluebutton_redis_cluster 127.0.0.1:2003;
    bluebutton_redis_auth gateway gateway-pass;
    bluebutton_redis_timeout 2s;
    bluebutton_cache zone=cluster:1m ttl=60s;
--- request
GET /control/do/cached
--- response_body
ok



=== TEST 10: a TLS cluster (tls-cluster yes): the TLS ports from CLUSTER SHARDS, the certificate verified
--- init
BB::start_cluster(\@main::Nodes, tls => 1);
main::seed();
BB::start_control(undef, tls => sub {
    BB::in_every_worker('/p', "tok-$_", 200) for 1 .. 24;
    my $res = BB::http_get('/p', token => 'tok-1');
    die "not a hit\n" unless $res->{headers}{'x-cache'} eq 'HIT';
    BB::revoke_grant('app-1', main::patient(1));
    Time::HiRes::sleep(0.05);
    main::statuses('/p', 401, 'tok-1');
});
--- http_config
    bluebutton_redis_cluster 127.0.0.1:2102;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_trusted_certificate $TEST_NGINX_REDIS_DIR/tls/ca.crt;
    bluebutton_redis_timeout 2s;
    bluebutton_cache zone=cluster:1m ttl=60s;
--- request
GET /control/do/tls
--- response_body
ok



=== TEST 11: no node answers: 503 with Retry-After, and the log says why
--- http_config
    bluebutton_redis_cluster 127.0.0.1:2009 127.0.0.1:2010;
--- request
GET /p
--- more_headers
Authorization: Bearer tok-1
--- error_code: 503
--- response_headers
Retry-After: 5
--- error_log
no node of redis cluster "127.0.0.1:2009" told its slots (could not connect to redis); asking again
The consent service is temporarily unavailable: no node of the cluster told its slots



=== TEST 12: bluebutton_redis_cluster beside bluebutton_redis in one block
--- http_config
    bluebutton_redis 127.0.0.1:6390;
    bluebutton_redis_cluster 127.0.0.1:2001;
--- config
--- must_die
--- error_log
"bluebutton_redis_cluster" directive cannot be used with "bluebutton_redis" in the same block



=== TEST 13: bluebutton_redis_sentinel beside bluebutton_redis_cluster
--- http_config
    bluebutton_redis_cluster 127.0.0.1:2001;
    bluebutton_redis_sentinel master=m 127.0.0.1:26379;
--- config
--- must_die
--- error_log
"bluebutton_redis_sentinel" directive cannot be used with "bluebutton_redis_cluster" in the same block



=== TEST 14: a database other than 0
--- http_config
    bluebutton_redis_cluster 127.0.0.1:2001;
    bluebutton_redis_database 2;
--- config
--- must_die
--- error_log
"bluebutton_redis_database" is 2 but a Redis Cluster has database 0 only



=== TEST 15: a refresh shorter than 100ms
--- http_config
    bluebutton_redis_cluster 127.0.0.1:2001 refresh=10ms;
--- config
--- must_die
--- error_log
invalid "refresh=10ms": a time of at least 100ms is expected



=== TEST 16: a unix socket
--- http_config
    bluebutton_redis_cluster unix:/tmp/redis.sock;
--- config
--- must_die
--- error_log
"bluebutton_redis_cluster" directive takes the TCP addresses of cluster nodes, not unix sockets



=== TEST 17: only a refresh, no node
--- http_config
    bluebutton_redis_cluster refresh=1s;
--- config
--- must_die
--- error_log
"bluebutton_redis_cluster" directive needs the address of at least one node of the cluster
