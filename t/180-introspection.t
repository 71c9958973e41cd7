# bluebutton_introspection: opaque tokens asked of an authorization
# server by RFC 7662, through a location of the gateway that proxies to
# it.  The server here is a stand-in on loopback that answers by the
# token it is sent and writes down every request it gets, so that the
# blocks can check what the gateway sent: the token in a POST body only,
# the location's own Authorization, none of the client's headers.

use Test::Nginx::Socket 'no_plan';
use BB;
use Time::HiRes ();

repeat_each(1);
no_shuffle();
check_accum_error_log();

our $ServerPort = 1982;

BB::jwks('jwks-introspection.json', BB::jwk('rsa1'));
our $Patient = '-20140000008325';

add_block_preprocessor(sub {
    my $block = shift;

    BB::defaults($block);

    if (!defined $block->config) {
        $block->set_value('config', <<'END' . $BB::Control);
    location /p {
        bluebutton on;
        bluebutton_introspection /_introspect;
        add_header X-Cache $bluebutton_cache_status always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location = /_introspect {
        internal;
        proxy_pass http://127.0.0.1:1982/oauth/introspect;
        proxy_set_header Authorization "Basic Z2F0ZXdheTpzZWNyZXQ=";
        proxy_read_timeout 1s;
    }
END
    }
});

our $Cached = <<'END';
    location /p {
        bluebutton on;
        bluebutton_introspection /_introspect ttl=1s;
        add_header X-Cache $bluebutton_cache_status always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location = /_introspect {
        internal;
        proxy_pass http://127.0.0.1:1982/oauth/introspect;
    }
END

# The stand-in: the answer by token; every request appended to a file.
sub start_server {
    my $log = "$ENV{TEST_NGINX_REDIS_DIR}/introspect.log";
    unlink $log, "$ENV{TEST_NGINX_REDIS_DIR}/switch.off";
    my $exp = time + 3600;
    my %answers = (
        good => qq({"active":true,"client_id":"app-1","patient":"$Patient",)
                . qq("scope":"patient/Patient.read patient/ExplanationOfBenefit.read",)
                . qq("exp":$exp,"iat":) . (time - 60) . qq(,"aud":["x"]}),
        nogrant => qq({"active":true,"client_id":"app-2","patient":"$Patient",)
                   . qq("scope":"patient/Patient.read","exp":$exp}),
        expired => qq({"active":true,"client_id":"app-1","patient":"$Patient",)
                   . qq("scope":"patient/Patient.read","exp":) . (time - 10) . '}',
        narrow => qq({"active":true,"client_id":"app-1","patient":"$Patient",)
                  . qq("scope":"profile","exp":$exp}),
        other => qq({"active":true,"client_id":"app-1","bb_patient":"$Patient",)
                 . qq("scope":"patient/Patient.read","exp":$exp}),
        ours => qq({"active":true,"client_id":"app-1","patient":"$Patient",)
                . qq("scope":"patient/Patient.read","exp":$exp,)
                . qq("aud":"https://bb.example/fhir"}),
        oursamong => qq({"active":true,"client_id":"app-1","patient":"$Patient",)
                     . qq("scope":"patient/Patient.read","exp":$exp,)
                     . qq("aud":["https://as.example","https:\\/\\/bb.example\\/fhir"]}),
        theirs => qq({"active":true,"client_id":"app-1","patient":"$Patient",)
                  . qq("scope":"patient/Patient.read","exp":$exp,)
                  . qq("aud":["https://bb.example/fhir/","https://bb.example"]}),
        inactive => '{"active":false}',
        shortexp => qq({"active":true,"client_id":"app-1","patient":"$Patient",)
                    . qq("scope":"patient/Patient.read","exp":) . (time + 2) . '}',
        garbage => 'this is not JSON',
    );

    BB::serve($ServerPort, sub {
        my ($c) = @_;
        my ($head, $body) = ('', '');
        while (my $line = <$c>) {
            $head .= $line;
            last if $line =~ /^\r?\n$/;
        }
        my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
        read($c, $body, $len) if $len;
        open my $fh, '>>', $log;
        print $fh $head, $body, "\n----\n";
        close $fh;

        my ($token) = $body =~ /(?:^|&)token=([^&]*)/;
        $token = '' unless defined $token;
        $token =~ s/%([0-9A-F]{2})/chr(hex($1))/ge;

        if ($token eq 'slow') {
            sleep 3;
        }

        # "switch" is active until the server revokes it (a file says so)
        my $switch = -e "$ENV{TEST_NGINX_REDIS_DIR}/switch.off"
                     ? 'inactive' : 'good';

        my ($status, $text) = $token eq 'broken' ? (500, '{"error":"x"}')
                            : $token eq 'switch' ? (200, $answers{$switch})
                            : (200, $answers{$token} || $answers{inactive});
        print $c "HTTP/1.1 $status X\r\nContent-Type: application/json\r\n"
                 . "Content-Length: " . length($text) . "\r\n"
                 . "Connection: close\r\n\r\n$text";
        close $c;
    });
}

sub requests_seen {
    my $log = "$ENV{TEST_NGINX_REDIS_DIR}/introspect.log";
    open my $fh, '<', $log or return ();
    local $/ = "\n----\n";
    return <$fh>;
}

run_tests();

__DATA__

=== TEST 1: an active token with a grant in Redis: allowed, the identity from the answer; the server got a POST with the token in its body only
--- init
BB::flush();
BB::grant('app-1', $main::Patient);
main::start_server();
BB::start_control(undef, seen => sub {
    my @r = main::requests_seen();
    die "asked " . @r . " times\n" unless @r == 1;
    my $r = $r[0];
    die "not a POST to the endpoint: $r" unless $r =~ m{^POST /oauth/introspect HTTP/1\.[01]\r\n};
    die "no form type\n" unless $r =~ m{^Content-Type: application/x-www-form-urlencoded\r$}mi;
    die "no client authentication of the gateway's\n"
        unless $r =~ m{^Authorization: Basic Z2F0ZXdheTpzZWNyZXQ=\r$}m;
    die "the client's token went along\n" if $r =~ /Bearer/;
    die "a client header went along\n" if $r =~ /X-Client-Secret/i;
    die "the body: $r" unless $r =~ /\r\n\r\ntoken=good&token_type_hint=access_token\n----\n\z/;
});
--- pipelined_requests eval
["GET /p", "GET /control/do/seen"]
--- more_headers
Authorization: Bearer good
X-Client-Secret: 42
--- error_code eval
[200, 200]
--- response_body eval
["backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n", "ok\n"]
--- response_headers eval
["X-Cache: BYPASS", ""]



=== TEST 2: every request asks again (nothing is cached): a revocation at the server is seen on the next request
--- init
BB::flush();
BB::grant('app-1', $main::Patient);
main::start_server();
BB::start_control(undef, count => sub {
    my @r = main::requests_seen();
    die "asked " . @r . " times for 3 requests\n" unless @r == 3;
});
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_cache zone=introspection:1m;
--- pipelined_requests eval
["GET /p", "GET /p", "GET /p", "GET /control/do/count"]
--- more_headers
Authorization: Bearer good
--- error_code eval
[200, 200, 200, 200]



=== TEST 3: inactive, unknown, expired: 401 invalid_token
--- init
main::start_server();
--- pipelined_requests eval
["GET /p", "GET /p", "GET /p"]
--- more_headers eval
["Authorization: Bearer inactive", "Authorization: Bearer whatever", "Authorization: Bearer expired"]
--- error_code eval
[401, 401, 401]
--- response_headers_like eval
['WWW-Authenticate: Bearer realm="[^"]*", error="invalid_token", error_description="The access token is unknown or was revoked"',
 'WWW-Authenticate: Bearer realm="[^"]*", error="invalid_token", error_description="The access token is unknown or was revoked"',
 'WWW-Authenticate: Bearer realm="[^"]*", error="invalid_token", error_description="The access token expired"']



=== TEST 4: active but the beneficiary's grant is gone from Redis: 401
--- init
BB::flush();
main::start_server();
--- request
GET /p
--- more_headers
Authorization: Bearer nogrant
--- error_code: 401



=== TEST 5: active, scopes too narrow for the location: 403 insufficient_scope
--- init
BB::flush();
BB::grant('app-1', $main::Patient);
main::start_server();
--- config
    location /p {
        bluebutton on;
        bluebutton_introspection /_introspect;
        bluebutton_scope patient/ExplanationOfBenefit.read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location = /_introspect {
        internal;
        proxy_pass http://127.0.0.1:1982/oauth/introspect;
    }
--- request
GET /p
--- more_headers
Authorization: Bearer narrow
--- error_code: 403
--- response_headers_like
WWW-Authenticate: Bearer realm="[^"]*", error="insufficient_scope", .*scope="patient/ExplanationOfBenefit\.read"



=== TEST 6a: the server answers 500: 503 with Retry-After and the cause logged, never 401
--- init
BB::flush();
BB::grant('app-1', $main::Patient);
main::start_server();
--- request
GET /p
--- more_headers
Authorization: Bearer broken
--- error_code: 503
--- response_headers
Retry-After: 5
--- error_log eval
qr/"\/_introspect" answered 500/
--- timeout: 10



=== TEST 6b: the server answers what is not JSON: 503 with Retry-After and the cause logged, never 401
--- init
BB::flush();
BB::grant('app-1', $main::Patient);
main::start_server();
--- request
GET /p
--- more_headers
Authorization: Bearer garbage
--- error_code: 503
--- response_headers
Retry-After: 5
--- error_log eval
qr/the answer of "\/_introspect" could not be read: /
--- timeout: 10



=== TEST 6c: the server does not answer within proxy_read_timeout: 503 with Retry-After and the cause logged, never 401
--- init
BB::flush();
BB::grant('app-1', $main::Patient);
main::start_server();
--- request
GET /p
--- more_headers
Authorization: Bearer slow
--- error_code: 503
--- response_headers
Retry-After: 5
--- error_log eval
qr/"\/_introspect" (?:gave no answer \(504\)|answered 504)/
--- timeout: 10



=== TEST 7: no Redis at all: the server's answer alone decides
--- init
main::start_server();
--- http_config
--- pipelined_requests eval
["GET /p", "GET /p"]
--- more_headers eval
["Authorization: Bearer nogrant", "Authorization: Bearer inactive"]
--- error_code eval
[200, 401]



=== TEST 8: the patient in a member the server names otherwise
--- init
BB::flush();
BB::grant('app-1', $main::Patient);
main::start_server();
--- config
    location /p {
        bluebutton on;
        bluebutton_introspection /_introspect patient=bb_patient;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location = /_introspect {
        internal;
        proxy_pass http://127.0.0.1:1982/oauth/introspect;
    }
--- request
GET /p
--- more_headers
Authorization: Bearer other
--- error_code: 200
--- response_body
backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]



=== TEST 8b: audience=: an active token's "aud" must name it (a string, or among an array); otherwise, or with no "aud", 401 as an unknown token and the log says why
--- init
BB::flush();
BB::grant('app-1', $main::Patient);
main::start_server();
--- config
    location /p {
        bluebutton on;
        bluebutton_introspection /_introspect audience=https://bb.example/fhir;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location = /_introspect {
        internal;
        proxy_pass http://127.0.0.1:1982/oauth/introspect;
    }
--- pipelined_requests eval
["GET /p", "GET /p", "GET /p", "GET /p", "GET /p"]
--- more_headers eval
["Authorization: Bearer ours", "Authorization: Bearer oursamong",
 "Authorization: Bearer theirs", "Authorization: Bearer good",
 "Authorization: Bearer nogrant"]
--- error_code eval
[200, 200, 401, 401, 401]
--- response_headers_like eval
["", "",
 'WWW-Authenticate: Bearer realm="[^"]*", error="invalid_token", error_description="The access token is unknown or was revoked"',
 'WWW-Authenticate: Bearer realm="[^"]*", error="invalid_token", error_description="The access token is unknown or was revoked"',
 'WWW-Authenticate: Bearer realm="[^"]*", error="invalid_token", error_description="The access token is unknown or was revoked"']
--- error_log eval
qr/bluebutton: invalid_token \(invalid_token\): The access token is unknown or was revoked: the answer of "\/_introspect" is for another audience than "https:\/\/bb\.example\/fhir", token [0-9a-f]+, cause unknown_token/



=== TEST 8c: audience= is part of what a cached answer was read for: an answer kept where no audience is asked is not served where one is
--- init
BB::flush();
BB::grant('app-1', $main::Patient);
main::start_server();
BB::start_control(undef);
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_cache zone=introspection:1m;
--- config
    location /any {
        bluebutton on;
        bluebutton_introspection /_introspect ttl=1m;
        add_header X-Cache $bluebutton_cache_status always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location /ours {
        bluebutton on;
        bluebutton_introspection /_introspect ttl=1m
                                 audience=https://bb.example/fhir;
        add_header X-Cache $bluebutton_cache_status always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location = /_introspect {
        internal;
        proxy_pass http://127.0.0.1:1982/oauth/introspect;
    }
    # a pause first: the cache serves once its invalidation feed is up
    location /control/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CONTROL_PORT;
    }
--- pipelined_requests eval
["GET /control/pause/100", "GET /any", "GET /ours", "GET /any", "GET /ours"]
--- more_headers
Authorization: Bearer theirs
--- error_code eval
[200, 200, 401, 200, 401]
--- response_headers eval
["", "X-Cache: MISS", "X-Cache: MISS", "X-Cache: HIT", "X-Cache: MISS"]



=== TEST 9: no Redis and JWT keys: refused by nginx -t
--- http_config
--- config
    location /p {
        bluebutton on;
        bluebutton_introspection /_introspect;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-introspection.json;
    }
--- must_die
--- error_log
"bluebutton" is on with JWT keys but no Redis



=== TEST 10: a URI that is not a location, a bad parameter
--- config
    location /p {
        bluebutton on;
        bluebutton_introspection http://as.example/introspect;
    }
--- must_die
--- error_log
"http://as.example/introspect" is not a location of this server



=== TEST 11: a patient member name too long
--- config
    location /p {
        bluebutton on;
        bluebutton_introspection /_introspect patient=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;
    }
--- must_die
--- error_log
a member name of 1 to 31 characters is expected



=== TEST 11b: an empty audience, and one too long
--- config
    location /p {
        bluebutton on;
        bluebutton_introspection /_introspect audience=;
    }
    location /q {
        bluebutton on;
        bluebutton_introspection /_introspect audience=https://bb.example/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;
    }
--- must_die
--- error_log
invalid "audience=": an audience of 1 to 255 characters is expected



=== TEST 11c: an audience of 255 characters is taken
--- config
    location /q {
        bluebutton on;
        bluebutton_introspection /_introspect audience=https://bb.example/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location = /_introspect {
        internal;
        proxy_pass http://127.0.0.1:1982/oauth/introspect;
    }
--- request
GET /q
--- more_headers
Authorization: Bearer ours
--- error_code: 401



=== TEST 12: ttl with a cache: one question for many requests, a hit asks nothing
--- init
BB::flush();
BB::grant('app-1', $main::Patient);
main::start_server();
BB::start_control(undef, count => sub {
    my @r = main::requests_seen();
    die "asked " . @r . " times for 3 requests\n" unless @r == 1;
});
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_cache zone=introspection:1m;
--- config eval
$::Cached . $BB::Control
--- pipelined_requests eval
["GET /control/pause/200", "GET /p", "GET /p", "GET /p", "GET /control/do/count"]
--- more_headers
Authorization: Bearer good
--- error_code eval
[200, 200, 200, 200, 200]
--- response_headers eval
["", "X-Cache: MISS", "X-Cache: HIT", "X-Cache: HIT", ""]



=== TEST 13: ttl: a revocation at the server is served until the ttl ends, then refused
--- init
BB::flush();
BB::grant('app-1', $main::Patient);
main::start_server();
BB::start_control(undef, server_revokes => sub {
    BB::write_file("$ENV{TEST_NGINX_REDIS_DIR}/switch.off", '');
});
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_cache zone=introspection:1m;
--- config eval
$::Cached . $BB::Control
--- pipelined_requests eval
["GET /control/pause/200", "GET /p", "GET /control/do/server_revokes",
 "GET /p", "GET /control/pause/1100", "GET /p"]
--- more_headers eval
["", "Authorization: Bearer switch", "", "Authorization: Bearer switch", "",
 "Authorization: Bearer switch"]
--- error_code eval
[200, 200, 200, 200, 200, 401]
--- response_headers eval
["", "X-Cache: MISS", "", "X-Cache: HIT", "", "X-Cache: EXPIRED"]



=== TEST 13b: ttl: a grant revoked in Redis is refused at once
--- init
BB::flush();
BB::grant('app-1', $main::Patient);
main::start_server();
BB::start_control(undef, redis_revokes => sub {
    BB::revoke_grant('app-1', $main::Patient);
    Time::HiRes::sleep(0.05);
});
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_cache zone=introspection:1m;
--- config eval
my $c = $::Cached . $BB::Control;
$c =~ s/ttl=1s/ttl=60s/;
$c
--- pipelined_requests eval
["GET /control/pause/200", "GET /p", "GET /p", "GET /control/do/redis_revokes", "GET /p"]
--- more_headers eval
["", "Authorization: Bearer good", "Authorization: Bearer good", "", "Authorization: Bearer good"]
--- error_code eval
[200, 200, 200, 200, 401]
--- response_headers eval
["", "X-Cache: MISS", "X-Cache: HIT", "", "X-Cache: MISS"]



=== TEST 13c: ttl with a cache and no Redis at all: one question for three requests; a revocation at the server served until the ttl ends, then refused
--- init
main::start_server();
BB::start_control(undef,
    one => sub {
        my @r = main::requests_seen();
        die "asked " . @r . " times for 3 requests\n" unless @r == 1;
    },
    server_revokes => sub {
        BB::write_file("$ENV{TEST_NGINX_REDIS_DIR}/switch.off", '');
    });
--- http_config
    bluebutton_cache zone=introspection:1m;
--- config eval
$::Cached . $BB::Control
--- pipelined_requests eval
["GET /p", "GET /p", "GET /p", "GET /control/do/one",
 "GET /control/do/server_revokes", "GET /p", "GET /control/pause/1100",
 "GET /p", "GET /p"]
--- more_headers eval
["Authorization: Bearer switch", "Authorization: Bearer switch",
 "Authorization: Bearer switch", "", "", "Authorization: Bearer switch", "",
 "Authorization: Bearer switch", "Authorization: Bearer switch"]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200, 401, 401]
--- response_headers eval
["X-Cache: MISS", "X-Cache: HIT", "X-Cache: HIT", "", "", "X-Cache: HIT", "",
 "X-Cache: EXPIRED", "X-Cache: MISS"]



=== TEST 13d: one cache zone for a server with Redis and one with introspection alone: refused by nginx -t
--- http_config
    bluebutton_cache zone=shared:1m;
    server {
        listen 127.0.0.1:1999;
        bluebutton_redis 127.0.0.1:6390;
        location / {
            bluebutton on;
        }
    }
--- config
    location /p {
        bluebutton on;
        bluebutton_introspection /_introspect ttl=10s;
    }
    location = /_introspect {
        proxy_pass http://127.0.0.1:1982/oauth/introspect;
    }
--- must_die
--- error_log
cache zone "shared" is used by a server with Redis and by one with introspection and no Redis: give each its own zone



=== TEST 14: ttl is never past the token's exp
--- init
BB::flush();
BB::grant('app-1', $main::Patient);
main::start_server();
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_cache zone=introspection:1m;
--- config eval
my $c = $::Cached . $BB::Control;
$c =~ s/ttl=1s/ttl=60s/;
$c
--- pipelined_requests eval
["GET /control/pause/200", "GET /p", "GET /p", "GET /control/pause/2600", "GET /p"]
--- more_headers eval
["", "Authorization: Bearer shortexp", "Authorization: Bearer shortexp", "", "Authorization: Bearer shortexp"]
--- error_code eval
[200, 200, 200, 200, 401]
--- response_headers eval
["", "X-Cache: MISS", "X-Cache: HIT", "", ""]
--- timeout: 10



=== TEST 15: sent on by an internal redirect to a location that reads tokens from Redis: judged there afresh, not by the server's answer
--- init
BB::flush();
BB::grant('app-1', $main::Patient);
main::start_server();
--- config
    location /p {
        bluebutton on;
        bluebutton_introspection /_introspect;
        try_files /nothing-here @redis;
    }
    location @redis {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location = /_introspect {
        internal;
        proxy_pass http://127.0.0.1:1982/oauth/introspect;
    }
--- request
GET /p
--- more_headers
Authorization: Bearer good
--- error_code: 401
