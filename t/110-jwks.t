# bluebutton_jwt_keys_url: signing keys fetched from the authorization
# server through a location of the gateway, shared by two workers: the
# first fetch, a rotation picked up by the first token of the new key, an
# unknown-kid flood that cannot hammer the server, failed fetches that keep
# the keys there are, 503 before any keys, reloads.  Fetches are counted
# in the stand-in server's own access log.
#
# Under TEST_NGINX_USE_HUP the keys zone would outlive each block, so the
# fetches counted below are left to the modes that start nginx per block.

use Test::Nginx::Socket $ENV{TEST_NGINX_USE_HUP}
    ? (skip_all => 'fetch counts need an nginx per block') : 'no_plan';
use BB;

repeat_each(1);
no_shuffle();
master_on();
workers(2);

check_accum_error_log();

our $Dir = BB::keys_dir();

BB::jwks('jwks-url-rsa1.json', BB::jwk('rsa1'));
BB::jwks('jwks-url-both.json', BB::jwk('rsa1'), BB::jwk('rsa2'));
BB::jwks('jwks-url-private.json', { %{ BB::jwk('rsa1') }, d => 'AQAB' });
BB::write_file("$Dir/jwks-url-garbage.json", "this is not json\n");
BB::write_file("$Dir/jwks-url-empty.json", '');

our $Rsa1 = BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1');
our $Rsa2 = BB::jwt(alg => 'RS256', key => 'rsa2', kid => 'rsa2');
our $Bogus = BB::jwt(alg => 'RS256', key => 'rsa2', kid => 'no-such-key');

our $Ok = "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n";

# the stand-in serves $Dir/jwks-live.json, or 500 while jwks-fail exists
sub live { BB::write_file("$Dir/jwks-live.json",
                          do { local (@ARGV, $/) = ("$Dir/$_[0]"); <> } // '') }

sub fetches {
    my $root = $ENV{TEST_NGINX_SERVROOT} || 't/servroot';
    open my $fh, '<', "$root/logs/as.log" or return 0;
    my @lines = <$fh>;
    return scalar @lines;
}

sub expect_fetches {
    my ($n) = @_;
    return sub {
        my $got = fetches();
        die "$got fetches, not $n\n" unless $got == $n;
    };
}

add_block_preprocessor(sub {
    my $block = shift;

    # what the stand-in was sent, to show that no client header went along
    $block->set_value('http_config',
        ($block->http_config
         // 'bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;')
        . "\n    log_format as '\$request [\$http_authorization] [\$http_cookie]';\n")
        unless defined $block->must_die;

    BB::defaults($block);

    my $url = $block->keys_url || '/_jwks refresh=10m min_refresh=1s';

    if (!defined $block->config) {
        $block->set_value('config', <<"END" . $BB::Control);
    location /p {
        bluebutton on;
        bluebutton_jwt_keys_url $url;
        add_header X-Worker \$pid always;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_BACKEND_PORT;
    }

    location = /_jwks {
        internal;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/as/jwks.json;
        subrequest_output_buffer_size 64k;
    }

    # the authorization server's stand-in
    location = /as/jwks.json {
        access_log logs/as.log as;
        @{[ $block->as_headers || '' ]}
        if (-f \$TEST_NGINX_KEYS_DIR/jwks-fail) {
            return 500;
        }
        alias \$TEST_NGINX_KEYS_DIR/jwks-live.json;
    }
END
    }

    $block->set_value('init', <<'END' . ($block->init || ''))
BB::flush();
BB::grant('app-1', '-20140000008325');
unlink "$main::Dir/jwks-fail";
main::live('jwks-url-rsa1.json');
END
        unless $block->must_die;
});

run_tests();

__DATA__

=== TEST 1: the first JWT waits for the first fetch; the keys then serve both workers
--- init
BB::start_control(undef, one => main::expect_fetches(1),
    both => sub {
        BB::in_every_worker('/p', $main::Rsa1, 200);
        main::expect_fetches(1)->();
    });
--- pipelined_requests eval
["GET /p", "GET /control/do/one", "GET /control/do/both"]
--- more_headers eval
"Authorization: Bearer $main::Rsa1"
--- error_code eval
[200, 200, 200]
--- response_body eval
[$main::Ok, "ok\n", "ok\n"]
--- error_log eval
qr/\[notice\] .*bluebutton: new 1 keys from "\/_jwks", next fetch in 600 s/
--- no_error_log
[error]



=== TEST 2: a token signed with a key rotated in is accepted without a reload
--- init
BB::start_control(undef, one => main::expect_fetches(1),
    two => main::expect_fetches(2));
--- request eval
["GET /p", "GET /control/keys/jwks-url-both.json/jwks-live.json",
 "GET /control/pause/1100", "GET /p", "GET /control/do/two", "GET /p",
 "GET /control/do/two"]
--- more_headers eval
["Authorization: Bearer $main::Rsa1", "", "", "Authorization: Bearer $main::Rsa2",
 "", "Authorization: Bearer $main::Rsa1", ""]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200]
--- response_body eval
[$main::Ok, "ok\n", "ok\n", $main::Ok, "ok\n", $main::Ok, "ok\n"]
--- no_error_log
[error]



=== TEST 3: a flood of unknown key ids: 401, and the server asked once only
--- init
BB::start_control(undef,
    flood => sub {
        for (1 .. 20) {
            my $s = BB::status_of('/p', $main::Bogus);
            die "an unknown kid got $s\n" unless $s == 401;
        }
        main::expect_fetches(1)->();
    });
--- keys_url: /_jwks refresh=10m min_refresh=30s
--- pipelined_requests eval
["GET /p", "GET /control/do/flood"]
--- more_headers eval
"Authorization: Bearer $main::Rsa1"
--- error_code eval
[200, 200]
--- response_body eval
[$main::Ok, "ok\n"]
--- error_log eval
[qr/\[info\] .*bluebutton: a token names a key "\/_jwks" does not have; the keys were asked for \d+ s ago, again no sooner than min_refresh \(30 s\)/,
 qr/\[info\] .*bluebutton: invalid_token \(invalid_token\): The access token's key id is not known/]



=== TEST 4: an unknown key id once min_refresh has passed: one early fetch
--- init
BB::start_control(undef, two => main::expect_fetches(2));
--- request eval
["GET /p", "GET /control/pause/1100", "GET /p", "GET /p",
 "GET /control/do/two"]
--- more_headers eval
["Authorization: Bearer $main::Rsa1", "", "Authorization: Bearer $main::Bogus",
 "Authorization: Bearer $main::Bogus", ""]
--- error_code eval
[200, 200, 401, 401, 200]



=== TEST 5: no keys yet: 503 with Retry-After, never 401
--- init
BB::write_file("$main::Dir/jwks-fail", '');
BB::start_control(undef, one => main::expect_fetches(1));
--- request eval
["GET /p", "GET /p", "GET /control/do/one"]
--- more_headers eval
["Authorization: Bearer $main::Rsa1", "Authorization: Bearer $main::Rsa1", ""]
--- error_code eval
[503, 503, 200]
--- response_headers eval
["Retry-After: 5\n!WWW-Authenticate", "Retry-After: 5\n!WWW-Authenticate", ""]
--- error_log eval
[qr/\[error\] .*bluebutton: fetching keys from "\/_jwks" failed: "\/_jwks" answered 500; JWTs get 503 until keys are fetched, tried again in 1 s/,
 qr/bluebutton: temporarily_unavailable \(unavailable\): The consent service is temporarily unavailable: no signing keys were fetched from "\/_jwks" yet/]



=== TEST 5b: requests that come while the first fetch is under way wait for it
--- init
my $count = "$main::Dir/slow-fetches";
unlink $count;
BB::stop_redis(1992);    # a fault test's Redis may still hold the port
BB::serve(1992, sub {
    my ($c) = @_;
    while (my $h = <$c>) { last if $h =~ /^\r?\n$/ }
    BB::sleep(0.5);
    my $body = do { local (@ARGV, $/) = ("$main::Dir/jwks-url-rsa1.json"); <> };
    open my $fh, '>>', $count or die;
    print $fh "fetch\n";
    close $fh;
    print $c "HTTP/1.1 200 OK\r\nContent-Length: " . length($body)
             . "\r\nConnection: close\r\n\r\n$body";
    close $c;
});
BB::start_control(undef,
    burst => sub {
        my @pids;
        for (1 .. 6) {
            my $pid = fork;
            if ($pid == 0) {
                POSIX::_exit(BB::status_of('/p', $main::Rsa1) == 200 ? 0 : 1);
            }
            push @pids, $pid;
            BB::sleep(0.05);
        }
        my $failed = 0;
        for (@pids) { waitpid $_, 0; $failed++ if $? }
        die "$failed of 6 requests were not allowed\n" if $failed;
        open my $fh, '<', $count or die "no fetch\n";
        my @n = <$fh>;
        die scalar(@n) . " fetches, not 1\n" unless @n == 1;
    });
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys_url /_jwks;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }

    location = /_jwks {
        internal;
        proxy_pass http://127.0.0.1:1992/jwks.json;
        subrequest_output_buffer_size 64k;
    }

    location /control/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CONTROL_PORT;
        proxy_read_timeout 30s;
    }
--- request
GET /control/do/burst
--- response_body
ok
--- timeout: 10
--- no_error_log
[error]



=== TEST 6: the server fails later: 500, garbage, a private key, nothing; the keys stay
--- init
BB::start_control(undef,
    fail => sub { BB::write_file("$main::Dir/jwks-fail", '') },
    garbage => sub { unlink "$main::Dir/jwks-fail"; main::live('jwks-url-garbage.json') },
    private => sub { main::live('jwks-url-private.json') },
    empty => sub { main::live('jwks-url-empty.json') },
    five => main::expect_fetches(5));
--- keys_url: /_jwks refresh=1s min_refresh=1s
--- pipelined_requests eval
["GET /p",
 "GET /control/do/fail", "GET /control/pause/1100", "GET /p",
 "GET /control/do/garbage", "GET /control/pause/1100", "GET /p",
 "GET /control/do/private", "GET /control/pause/2100", "GET /p",
 "GET /control/do/empty", "GET /control/pause/4100", "GET /p",
 "GET /p", "GET /control/do/five"]
--- more_headers eval
"Authorization: Bearer $main::Rsa1"
--- error_code eval
[200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]
--- response_body eval
[$main::Ok, "ok\n", "ok\n", $main::Ok, "ok\n", "ok\n", $main::Ok,
 "ok\n", "ok\n", $main::Ok, "ok\n", "ok\n", $main::Ok, $main::Ok, "ok\n"]
--- timeout: 20
--- error_log eval
[qr/failed: "\/_jwks" answered 500; the keys fetched before stay in use, tried again in 1 s/,
 qr/failed: holds no PEM public key and is not a JWKS; the keys fetched before stay in use/,
 qr/failed: key #1 \(kid "rsa1"\): holds private key material; the keys fetched before stay in use/,
 qr/failed: "\/_jwks" answered nothing; the keys fetched before stay in use, tried again in 1 s/]



=== TEST 7: Cache-Control max-age shortens refresh, not below min_refresh
--- init
BB::start_control(undef, two => main::expect_fetches(2));
--- keys_url: /_jwks refresh=10m min_refresh=1s
--- as_headers: add_header Cache-Control "public, max-age=1";
--- pipelined_requests eval
["GET /p", "GET /control/pause/1100", "GET /p", "GET /control/pause/200",
 "GET /control/do/two"]
--- more_headers eval
"Authorization: Bearer $main::Rsa1"
--- error_code eval
[200, 200, 200, 200, 200]
--- error_log eval
qr/bluebutton: new 1 keys from "\/_jwks", next fetch in 1 s/



=== TEST 8: a reload keeps the keys: no fetch, still allowed
--- init
BB::start_control(undef,
    after => sub {
        BB::hup();
        BB::in_every_worker('/p', $main::Rsa1, 200);
        main::expect_fetches(1)->();
    });
--- skip_eval: 2: $ENV{TEST_NGINX_USE_VALGRIND}
--- request eval
["GET /p", "GET /control/do/after"]
--- more_headers eval
["Authorization: Bearer $main::Rsa1", ""]
--- error_code eval
[200, 200]



=== TEST 9: the client's headers are not sent to the authorization server
--- init
BB::start_control(undef,
    clean => sub {
        my $root = $ENV{TEST_NGINX_SERVROOT} || 't/servroot';
        open my $fh, '<', "$root/logs/as.log" or die "as.log: $!\n";
        my @lines = <$fh>;
        die "fetched @{[ scalar @lines ]} times\n" unless @lines == 1;
        die "the stand-in saw: $lines[0]" unless $lines[0] =~ /\[-\] \[-\]$/;
    });
--- request eval
["GET /p", "GET /control/do/clean"]
--- more_headers eval
["Authorization: Bearer $main::Rsa1\nCookie: session=secret", ""]
--- error_code eval
[200, 200]
--- response_body eval
[$main::Ok, "ok\n"]



=== TEST 10: the URI must be a location
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys_url https://auth.example/jwks;
    }
--- must_die
--- error_log
"https://auth.example/jwks" must be a location of this server, such as /_jwks, that proxies to the authorization server's JWKS



=== TEST 11: min_refresh longer than refresh
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys_url /_jwks refresh=10s min_refresh=1m;
    }
--- must_die
--- error_log
"min_refresh" must not exceed "refresh"



=== TEST 12: keys from a file and from a URL in one place
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-url-rsa1.json;
        bluebutton_jwt_keys_url /_jwks;
    }
--- must_die
--- error_log
"bluebutton_jwt_keys" and "bluebutton_jwt_keys_url" are both in force here: keys come from a file or from the authorization server, not both



=== TEST 13: one location with two schedules
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys_url /_jwks refresh=1m;
    }
    location /q {
        bluebutton on;
        bluebutton_jwt_keys_url /_jwks refresh=2m;
    }
--- must_die
--- error_log
"/_jwks" is already used with other "refresh" or "min_refresh"



=== TEST 14: a URI that no location of its own serves: nginx -t says so
# it would fall through to location / and ask the claims backend for keys
--- config
    location /api/ {
        bluebutton on;
        bluebutton_jwt_keys_url /_jwks;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- must_die
--- error_log eval
qr/"bluebutton_jwt_keys_url" names "\/_jwks", but no location of this server is "location = \/_jwks" or "location \/_jwks": the keys would be asked of whatever serves it, in .*nginx.conf:\d+/



=== TEST 15: a nested location of that name serves
--- config
    location /api/ {
        bluebutton on;
        bluebutton_jwt_keys_url /internal/jwks;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location /internal/ {
        internal;
        location = /internal/jwks {
            return 200 '{"keys":[]}';
        }
    }
--- request
GET /api/x
--- error_code: 401
