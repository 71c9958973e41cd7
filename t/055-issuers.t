# Several issuers at one location (bluebutton_jwt_issuer with keys=,
# keys_url=, audience= and algorithms=): the token's iss picks the keys
# and rules before any signature is checked, a token that claims one
# issuer and is signed with another's key is refused, an iss no line
# names is refused, and nginx -t says what is wrong in a configuration.

use Test::Nginx::Socket 'no_plan';
use BB;

repeat_each(1);
no_shuffle();
master_on();

# a block's log is checked whole after each of its requests
check_accum_error_log();

our $Dir = BB::keys_dir();

# issuer A signs with rsa1; issuer B with rsa2 and ec256
BB::jwks('iss-a.json', BB::jwk('rsa1'));
BB::jwks('iss-b.json', BB::jwk('rsa2'), BB::jwk('ec256'));
BB::jwks('iss-all.json', map { BB::jwk($_) } qw(rsa1 rsa2 ec256));

our $A = 'https://auth.example';
our $B = 'https://partner.example';

sub a { BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1', @_) }
sub b { my %o = @_; my $c = delete $o{claims} || {};
        BB::jwt(alg => 'RS256', key => 'rsa2', kid => 'rsa2', %o,
                claims => { iss => $B, %$c }) }

our $Ok = "backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n";

add_block_preprocessor(sub {
    my $block = shift;

    BB::defaults($block);

    if (!defined $block->config) {
        $block->set_value('config', <<'END');
    location /p {
        bluebutton on;
        bluebutton_jwt_issuer https://auth.example
                              keys=$TEST_NGINX_KEYS_DIR/iss-a.json;
        bluebutton_jwt_issuer https://partner.example
                              keys=$TEST_NGINX_KEYS_DIR/iss-b.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
END
    }

    if (defined(my $token = $block->token)) {
        $block->set_value('more_headers', "Authorization: Bearer $token");
    }

    $block->set_value('request', 'GET /p') unless defined $block->request
                                              || defined $block->must_die;

    $block->set_value('init', "BB::flush(); BB::grant('app-1', '-20140000008325');")
        unless defined $block->init;
});

run_tests();

__DATA__

=== TEST 1: a token of the first issuer, verified with its keys
--- token eval: main::a()
--- error_code: 200
--- response_body eval
$main::Ok
--- no_error_log
[error]



=== TEST 2: a token of the second issuer, verified with its keys
--- token eval: main::b()
--- error_code: 200
--- response_body eval
$main::Ok



=== TEST 3: the second issuer's other key and algorithm
--- token eval: BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256', claims => { iss => $main::B })
--- error_code: 200



=== TEST 4: claims the first issuer, signed with the second's key (by its kid): refused
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa2', kid => 'rsa2')
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token's key id is not known"}



=== TEST 5: claims the first issuer, signed with the second's key, no kid: refused
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa2')
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token's signature is not valid"}



=== TEST 6: claims the second issuer, signed with the first's key: refused
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1', claims => { iss => $main::B })
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token's key id is not known"}



=== TEST 7: an issuer no line names: refused before any key is looked at, named in the log
--- http_config
bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
log_format cause "cause=[$bluebutton_refusal_cause] decision=[$bluebutton_decision]";
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_issuer https://auth.example
                              keys=$TEST_NGINX_KEYS_DIR/iss-a.json;
        bluebutton_jwt_issuer https://partner.example
                              keys=$TEST_NGINX_KEYS_DIR/iss-b.json;
        access_log logs/error.log cause;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: main::a(claims => { iss => 'https://evil.example' })
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="bluebutton", error="invalid_token", error_description="The access token is from another issuer"
--- error_log eval
[qr/cause=\[wrong_issuer\] decision=\[invalid_token\]/, qr/cause wrong_issuer, kid "rsa1", iss "https:\/\/evil.example"/]



=== TEST 8: no iss at all: refused
--- token eval: main::a(claims => { iss => undef })
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token is from another issuer"}



=== TEST 9: an iss that only looks like one named: compared exactly
--- token eval: main::a(claims => { iss => 'https://auth.example/' })
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token is from another issuer"}



=== TEST 9b: an issuer whose iss begins with another's is told apart
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_issuer https://auth.example
                              keys=$TEST_NGINX_KEYS_DIR/iss-a.json;
        bluebutton_jwt_issuer https://auth.example/partner
                              keys=$TEST_NGINX_KEYS_DIR/iss-b.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- pipelined_requests eval
["GET /p", "GET /p"]
--- more_headers eval
[
    "Authorization: Bearer " . main::b(claims => { iss => 'https://auth.example/partner' }),
    "Authorization: Bearer " . main::a(),
]
--- error_code eval
[200, 200]



=== TEST 10: an iss that is not a string: refused
--- token eval: main::a(claims => { iss => 42 })
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token is from another issuer"}



=== TEST 11: each issuer's audience: the second issuer's token meant for the first's audience is refused
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_issuer https://auth.example
                              keys=$TEST_NGINX_KEYS_DIR/iss-a.json
                              audience=https://api.example;
        bluebutton_jwt_issuer https://partner.example
                              keys=$TEST_NGINX_KEYS_DIR/iss-b.json
                              audience=https://partner-api.example;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- pipelined_requests eval
["GET /p", "GET /p", "GET /p"]
--- more_headers eval
[
    "Authorization: Bearer " . main::a(),
    "Authorization: Bearer " . main::b(),
    "Authorization: Bearer " . main::b(claims => { aud => 'https://partner-api.example' }),
]
--- error_code eval
[200, 401, 200]
--- response_body eval
[$main::Ok, qq({"error":"invalid_token","error_description":"The access token is meant for another audience"}\n), $main::Ok]



=== TEST 12: each issuer's algorithms: RS256 from an issuer allowed ES256 only is refused
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_issuer https://auth.example
                              keys=$TEST_NGINX_KEYS_DIR/iss-a.json;
        bluebutton_jwt_issuer https://partner.example
                              keys=$TEST_NGINX_KEYS_DIR/iss-b.json
                              algorithms=ES256,ES384;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- pipelined_requests eval
["GET /p", "GET /p", "GET /p"]
--- more_headers eval
[
    "Authorization: Bearer " . main::a(),
    "Authorization: Bearer " . main::b(),
    "Authorization: Bearer " . BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256', claims => { iss => $main::B }),
]
--- error_code eval
[200, 401, 200]
--- response_body eval
[$main::Ok, qq({"error":"invalid_token","error_description":"The access token's algorithm is not accepted"}\n), $main::Ok]



=== TEST 13: issuers without keys of their own share the location's, each still pinned to its iss
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/iss-all.json;
        bluebutton_jwt_issuer https://auth.example;
        bluebutton_jwt_issuer https://partner.example;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- pipelined_requests eval
["GET /p", "GET /p", "GET /p"]
--- more_headers eval
[
    "Authorization: Bearer " . main::a(),
    "Authorization: Bearer " . main::b(),
    "Authorization: Bearer " . main::a(claims => { iss => 'https://sandbox.example' }),
]
--- error_code eval
[200, 200, 401]



=== TEST 14: one issuer's keys from its server (keys_url=), the other's from a file
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_issuer https://auth.example
                              keys=$TEST_NGINX_KEYS_DIR/iss-a.json;
        bluebutton_jwt_issuer https://partner.example
                              keys_url=/_partner_jwks refresh=10m;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }

    location = /_partner_jwks {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/as/iss-b.json;
    }

    location /as/ {
        alias $TEST_NGINX_KEYS_DIR/;
    }
--- pipelined_requests eval
["GET /p", "GET /p", "GET /p"]
--- more_headers eval
[
    "Authorization: Bearer " . main::b(),
    "Authorization: Bearer " . main::a(),
    "Authorization: Bearer " . BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1', claims => { iss => $main::B }),
]
--- error_code eval
[200, 200, 401]
--- error_log eval
qr/bluebutton: new 2 keys from "\/_partner_jwks"/
--- no_error_log
[error]



=== TEST 15: issuers set for the server; a location with a line of its own trusts that issuer only
--- config
    bluebutton_jwt_issuer https://auth.example
                          keys=$TEST_NGINX_KEYS_DIR/iss-a.json;
    bluebutton_jwt_issuer https://partner.example
                          keys=$TEST_NGINX_KEYS_DIR/iss-b.json;

    location /p {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }

    location /q {
        bluebutton on;
        bluebutton_jwt_issuer https://partner.example
                              keys=$TEST_NGINX_KEYS_DIR/iss-b.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- pipelined_requests eval
["GET /p", "GET /q", "GET /q"]
--- more_headers eval
[
    "Authorization: Bearer " . main::a(),
    "Authorization: Bearer " . main::a(),
    "Authorization: Bearer " . main::b(),
]
--- error_code eval
[200, 401, 200]



=== TEST 16: a cached JWT is not served where its issuer has other keys
--- http_config
bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
bluebutton_cache zone=decisions:1m;
--- config
    add_header X-Cache $bluebutton_cache_status always;

    location /p {
        bluebutton on;
        bluebutton_jwt_issuer https://auth.example
                              keys=$TEST_NGINX_KEYS_DIR/iss-a.json;
        bluebutton_jwt_issuer https://partner.example
                              keys=$TEST_NGINX_KEYS_DIR/iss-b.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }

    location /q {
        bluebutton on;
        bluebutton_jwt_issuer https://auth.example
                              keys=$TEST_NGINX_KEYS_DIR/iss-b.json;
        bluebutton_jwt_issuer https://partner.example
                              keys=$TEST_NGINX_KEYS_DIR/iss-b.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }

    # a pause first: the cache serves once its invalidation feed is up
    location /control/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CONTROL_PORT;
    }
--- init
BB::flush();
BB::grant('app-1', '-20140000008325');
BB::start_control(undef);
--- token eval: main::a()
--- pipelined_requests eval
["GET /control/pause/100", "GET /p", "GET /p", "GET /q"]
--- error_code eval
[200, 200, 200, 401]
--- response_headers eval
["", "X-Cache: MISS", "X-Cache: HIT", "X-Cache: MISS"]



=== TEST 17: the second issuer's token still needs the beneficiary's grant in Redis
--- init
BB::flush();
--- token eval: main::b()
--- error_code: 401



=== TEST 18: a JWT-looking token where no issuer has keys is looked up as an opaque token
--- config
    location /p {
        bluebutton_jwt_issuer https://auth.example;
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- init
BB::flush();
BB::grant('app-1', '-20140000008325');
BB::token('a.b.c');
--- token: a.b.c
--- error_code: 200



=== TEST 19: nginx -t: an issuer listed twice
--- config
    location /p {
        bluebutton_jwt_issuer https://auth.example keys=$TEST_NGINX_KEYS_DIR/iss-a.json;
        bluebutton_jwt_issuer https://auth.example keys=$TEST_NGINX_KEYS_DIR/iss-b.json;
    }
--- must_die
--- error_log
the issuer "https://auth.example" is listed twice



=== TEST 20: nginx -t: keys from a file and from a server for one issuer
--- config
    location /p {
        bluebutton_jwt_issuer https://auth.example keys=$TEST_NGINX_KEYS_DIR/iss-a.json keys_url=/_jwks;
    }
--- must_die
--- error_log
the issuer "https://auth.example" has "keys=" and "keys_url=": its keys come from a file or from its server, not both



=== TEST 21: nginx -t: refresh= without keys_url=
--- config
    location /p {
        bluebutton_jwt_issuer https://auth.example keys=$TEST_NGINX_KEYS_DIR/iss-a.json refresh=1m;
    }
--- must_die
--- error_log
"refresh=" and "min_refresh=" go with "keys_url="



=== TEST 22: nginx -t: an unknown or repeated parameter
--- config
    location /p {
        bluebutton_jwt_issuer https://auth.example audience=x audience=y;
    }
--- must_die
--- error_log
invalid or repeated parameter "audience=y"



=== TEST 23: nginx -t: an issuer with no keys in a location that is on
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_issuer https://auth.example keys=$TEST_NGINX_KEYS_DIR/iss-a.json;
        bluebutton_jwt_issuer https://partner.example;
    }
--- must_die
--- error_log
the issuer "https://partner.example" has no keys here: give it "keys=" or "keys_url=", or give the location "bluebutton_jwt_keys" or "bluebutton_jwt_keys_url"



=== TEST 24: nginx -t: algorithms= that its keys cannot verify
--- config
    location /p {
        bluebutton_jwt_issuer https://auth.example keys=$TEST_NGINX_KEYS_DIR/iss-a.json algorithms=ES256;
    }
--- must_die
--- error_log
"algorithms=" allows none of the algorithms the keys of the issuer "https://auth.example" can verify: every JWT it issues would be refused



=== TEST 25: nginx -t: the location's algorithms, that an issuer's own keys cannot verify
--- config
    location /p {
        bluebutton_jwt_algorithms ES256;
        bluebutton_jwt_issuer https://auth.example keys=$TEST_NGINX_KEYS_DIR/iss-a.json;
    }
--- must_die
--- error_log
"bluebutton_jwt_algorithms" allows none of the algorithms the keys of the issuer "https://auth.example" can verify: every JWT it issues would be refused



=== TEST 26: nginx -t: an unsupported algorithm
--- config
    location /p {
        bluebutton_jwt_issuer https://auth.example keys=$TEST_NGINX_KEYS_DIR/iss-a.json algorithms=RS256,none;
    }
--- must_die
--- error_log
unsupported algorithm "none" in "bluebutton_jwt_issuer"



=== TEST 27: nginx -t: an empty audience=
--- config
    location /p {
        bluebutton_jwt_issuer https://auth.example keys=$TEST_NGINX_KEYS_DIR/iss-a.json audience=;
    }
--- must_die
--- error_log
"audience=" needs a value



=== TEST 28: nginx -t: an issuer with a quote
--- config
    location /p {
        bluebutton_jwt_issuer 'https://auth.example/"x' keys=$TEST_NGINX_KEYS_DIR/iss-a.json;
    }
--- must_die
--- error_log
the issuer in "bluebutton_jwt_issuer" must not contain quotes, backslashes or control characters



=== TEST 29: nginx -t: a key file that cannot be read names the directive
--- config
    location /p {
        bluebutton_jwt_issuer https://auth.example keys=$TEST_NGINX_KEYS_DIR/missing.json;
    }
--- must_die
--- error_log eval
qr/"bluebutton_jwt_issuer" key file ".*missing.json" could not be opened/



=== TEST 30: nginx -t: keys_url= that no location serves
--- config
    location /p {
        bluebutton_jwt_issuer https://auth.example keys_url=/_nowhere;
    }
--- must_die
--- error_log eval
qr/"bluebutton_jwt_issuer" names "\/_nowhere", but no location/



=== TEST 31: leeway= is the issuer's own; an issuer without it takes the location's bluebutton_jwt_leeway
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_leeway 0s;
        bluebutton_jwt_issuer https://auth.example
                              keys=$TEST_NGINX_KEYS_DIR/iss-a.json leeway=1m;
        bluebutton_jwt_issuer https://partner.example
                              keys=$TEST_NGINX_KEYS_DIR/iss-b.json;
        add_header X-Verdict $bluebutton_decision always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- pipelined_requests eval
["GET /p", "GET /p", "GET /p", "GET /p"]
--- more_headers eval
["Authorization: Bearer " . main::a(claims => { exp => time() - 10 }),
 "Authorization: Bearer " . main::b(claims => { exp => time() - 10 }),
 "Authorization: Bearer " . main::a(claims => { exp => time() - 90 }),
 "Authorization: Bearer " . main::a(claims => { nbf => time() + 20 })]
--- error_code eval
[200, 401, 401, 200]
--- response_headers eval
["X-Verdict: allow", "X-Verdict: token_expired", "X-Verdict: token_expired",
 "X-Verdict: allow"]



=== TEST 32: a cached JWT is served only where its issuer has the same leeway
--- http_config
bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
bluebutton_cache zone=decisions:1m;
--- config
    add_header X-Cache $bluebutton_cache_status always;

    # one key set for both locations: only the leeway tells them apart
    bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/iss-all.json;

    location /p {
        bluebutton on;
        bluebutton_jwt_leeway 0s;
        bluebutton_jwt_issuer https://auth.example leeway=1m;
        bluebutton_jwt_issuer https://partner.example;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }

    # the same keys with another leeway: another policy, a miss
    location /q {
        bluebutton on;
        bluebutton_jwt_leeway 0s;
        bluebutton_jwt_issuer https://auth.example leeway=2m;
        bluebutton_jwt_issuer https://partner.example;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }

    location /control/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CONTROL_PORT;
    }
--- init
BB::flush();
BB::grant('app-1', '-20140000008325');
BB::start_control(undef);
--- token eval: main::a()
--- pipelined_requests eval
["GET /control/pause/100", "GET /p", "GET /p", "GET /q", "GET /q", "GET /p"]
--- error_code eval
[200, 200, 200, 200, 200, 200]
--- response_headers eval
["", "X-Cache: MISS", "X-Cache: HIT", "X-Cache: MISS", "X-Cache: HIT",
 "X-Cache: MISS"]



=== TEST 33: nginx -t: a leeway= that is not a time
--- config
    location /p {
        bluebutton_jwt_issuer https://auth.example keys=$TEST_NGINX_KEYS_DIR/iss-a.json leeway=soon;
    }
--- must_die
--- error_log
invalid "leeway=" time "soon"



=== TEST 34: nginx -t: leeway= twice
--- config
    location /p {
        bluebutton_jwt_issuer https://auth.example keys=$TEST_NGINX_KEYS_DIR/iss-a.json leeway=5s leeway=10s;
    }
--- must_die
--- error_log
invalid or repeated parameter "leeway=10s"
