# TLS to Redis through nginx's SSL layer, against a real redis-server
# with a TLS port and certificates made by the openssl command line: a
# verified server, an untrusted CA, a wrong name, a client certificate
# required and given, a clear-text server behind "ssl on".  Every failure
# is a 503 with Retry-After and an error line that names the cause.

use Test::Nginx::Socket 'no_plan';
use BB;

repeat_each(1);
no_shuffle();

# the log of a block is checked whole: a pipelined block's lines come
# from its later requests.  Blocks do not forbid every [error]: under
# TEST_NGINX_USE_HUP the previous block's workers log the Redis that init
# restarts.
check_accum_error_log();

# the certificates must exist before the first nginx reads them
BB::tls_files();

# the keys that forged tokens name, and the tokens, for the error-queue
# blocks: signatures OpenSSL refuses with errors of its own
BB::jwks('jwks-tls.json', BB::jwk('rsa1'), BB::jwk('ec256'));
our @Forged = map { "Authorization: Bearer " . BB::forged(%$_) }
    { alg => 'RS256', key => 'rsa1', kid => 'rsa1' },
    { alg => 'PS256', key => 'rsa1', kid => 'rsa1' },
    { alg => 'ES256', key => 'ec256', kid => 'ec256' };

add_block_preprocessor(sub {
    my $block = shift;

    # handshakes under valgrind take longer than the default timeout
    my $http = $block->http_config;
    $block->set_value('http_config',
                      "    bluebutton_redis_timeout 3s;\n$http")
        if defined $http && $http !~ /bluebutton_redis_timeout/
           && !defined $block->must_die;

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

run_tests();

__DATA__

=== TEST 1: a server verified by its CA and its name
--- init
BB::start_tls_redis(1990, 1993);
{ local $BB::Port = 1990; BB::consent('tok'); }
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_trusted_certificate $TEST_NGINX_REDIS_DIR/tls/ca.crt;
    bluebutton_redis_ssl_name redis.test;
--- request
GET /p
--- response_body
backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]
--- no_error_log eval
[qr/\[error\] .*temporarily_unavailable/, qr/\[error\] .*is not trusted/,
 qr/\[error\] .*TLS handshake/]



=== TEST 2: without bluebutton_redis_ssl_name, the address is the name checked
--- init
BB::start_tls_redis(1990, 1993);
{ local $BB::Port = 1990; BB::consent('tok'); }
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_trusted_certificate $TEST_NGINX_REDIS_DIR/tls/ca.crt;
--- request
GET /p
--- error_code: 200
--- no_error_log eval
[qr/\[error\] .*temporarily_unavailable/, qr/\[error\] .*is not trusted/,
 qr/\[error\] .*TLS handshake/]



=== TEST 3: a certificate from a CA not trusted: 503, never an allow
--- init
BB::start_tls_redis(1990, 1993);
{ local $BB::Port = 1990; BB::consent('tok'); }
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_trusted_certificate $TEST_NGINX_REDIS_DIR/tls/other-ca.crt;
    bluebutton_redis_ssl_name redis.test;
--- request
GET /p
--- error_code: 503
--- response_headers
Retry-After: 5
!WWW-Authenticate
--- response_body
{"error":"temporarily_unavailable","error_description":"The consent service is temporarily unavailable"}
--- error_log
bluebutton: redis "127.0.0.1:1993" is not trusted: certificate verify error: (19:self-signed certificate in certificate chain)



=== TEST 4: a certificate for another name
--- init
BB::start_tls_redis(1990, 1993);
{ local $BB::Port = 1990; BB::consent('tok'); }
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_trusted_certificate $TEST_NGINX_REDIS_DIR/tls/ca.crt;
    bluebutton_redis_ssl_name other.test;
--- request
GET /p
--- error_code: 503
--- response_headers
Retry-After: 5
--- error_log
bluebutton: redis "127.0.0.1:1993" is not trusted: certificate does not match "other.test"



=== TEST 5: tls-auth-clients yes, and no client certificate
--- init
BB::start_tls_redis(1990, 1993, '--tls-auth-clients', 'yes');
{ local $BB::Port = 1990; BB::consent('tok'); }
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_trusted_certificate $TEST_NGINX_REDIS_DIR/tls/ca.crt;
    bluebutton_redis_ssl_name redis.test;
--- request
GET /p
--- error_code: 503
--- response_headers
Retry-After: 5
--- error_log eval
[qr/\[(crit|error)\] .*SSL_\w+\(\) failed .*(certificate required|reset by peer)/,
 qr/\[error\] .*bluebutton: (lost the connection to redis "127\.0\.0\.1:1993": could not (read from|write to) redis|the TLS handshake with redis "127\.0\.0\.1:1993" failed)/]



=== TEST 6: tls-auth-clients yes, a client certificate given, and AUTH over TLS
--- init
BB::start_tls_redis(1990, 1993, '--tls-auth-clients', 'yes',
                    '--requirepass', 'sesame');
{ local $BB::Port = 1990; local $BB::Auth = ['sesame']; BB::consent('tok'); }
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_auth sesame;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_trusted_certificate $TEST_NGINX_REDIS_DIR/tls/ca.crt;
    bluebutton_redis_ssl_name redis.test;
    bluebutton_redis_ssl_certificate $TEST_NGINX_REDIS_DIR/tls/client.crt;
    bluebutton_redis_ssl_certificate_key $TEST_NGINX_REDIS_DIR/tls/client.key;
--- request
GET /p
--- response_body
backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]
--- no_error_log eval
[qr/\[error\] .*temporarily_unavailable/, qr/\[error\] .*is not trusted/,
 qr/\[error\] .*TLS handshake/]



=== TEST 7: a clear-text Redis behind "bluebutton_redis_ssl on"
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_redis_timeout 300ms;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_trusted_certificate $TEST_NGINX_REDIS_DIR/tls/ca.crt;
--- init
BB::consent('tok');
--- request
GET /p
--- error_code: 503
--- response_headers
Retry-After: 5
--- error_log eval
qr/\[error\] .*bluebutton: the TLS handshake with redis "127\.0\.0\.1:\d+" did not end within 300 ms/



=== TEST 8: bluebutton_redis_ssl_verify off takes any certificate
--- init
BB::start_tls_redis(1990, 1993);
{ local $BB::Port = 1990; BB::consent('tok'); }
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_verify off;
--- request
GET /p
--- error_code: 200
--- no_error_log eval
[qr/\[error\] .*temporarily_unavailable/, qr/\[error\] .*is not trusted/,
 qr/\[error\] .*TLS handshake/]



=== TEST 9: bluebutton_redis_ssl_verify_depth 0 refuses a chain with an intermediate CA
--- init
BB::start_tls_redis(1990, 1993, 'server-chain');
{ local $BB::Port = 1990; BB::consent('tok'); }
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_trusted_certificate $TEST_NGINX_REDIS_DIR/tls/ca.crt;
    bluebutton_redis_ssl_verify_depth 0;
--- request
GET /p
--- error_code: 503
--- error_log
bluebutton: redis "127.0.0.1:1993" is not trusted: certificate verify error: (20:unable to get local issuer certificate)



=== TEST 9b: the default depth, 1, takes that chain
--- init
BB::start_tls_redis(1990, 1993, 'server-chain');
{ local $BB::Port = 1990; BB::consent('tok'); }
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_trusted_certificate $TEST_NGINX_REDIS_DIR/tls/ca.crt;
--- request
GET /p
--- error_code: 200
--- no_error_log eval
[qr/\[error\] .*temporarily_unavailable/, qr/\[error\] .*is not trusted/,
 qr/\[error\] .*TLS handshake/]



=== TEST 10: bluebutton_redis_ssl_protocols that the server does not speak
--- init
BB::start_tls_redis(1990, 1993, '--tls-protocols', 'TLSv1.3');
{ local $BB::Port = 1990; BB::consent('tok'); }
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_trusted_certificate $TEST_NGINX_REDIS_DIR/tls/ca.crt;
    bluebutton_redis_ssl_protocols TLSv1.2;
--- request
GET /p
--- error_code: 503
--- error_log eval
qr/\[error\] .*bluebutton: the TLS handshake with redis "127\.0\.0\.1:1993" failed/



=== TEST 11: a new connection resumes the TLS session of the one lost
--- init
BB::start_tls_redis(1990, 1993);
{ local $BB::Port = 1990; BB::consent('tok'); }
BB::start_control(undef, kill => sub {
    local $BB::Port = 1990;
    BB::redis('CLIENT', 'KILL', 'TYPE', 'normal');
});
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_trusted_certificate $TEST_NGINX_REDIS_DIR/tls/ca.crt;
--- pipelined_requests eval
["GET /p", "GET /control/do/kill", "GET /control/pause/300", "GET /p"]
--- error_code eval
[200, 200, 200, 200]
--- error_log eval
qr/bluebutton: TLS to redis "127\.0\.0\.1:1993", session reused/



=== TEST 12: bluebutton_redis_ssl_session_reuse off: a full handshake each time
--- init
BB::start_tls_redis(1990, 1993);
{ local $BB::Port = 1990; BB::consent('tok'); }
BB::start_control(undef, kill => sub {
    local $BB::Port = 1990;
    BB::redis('CLIENT', 'KILL', 'TYPE', 'normal');
});
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_trusted_certificate $TEST_NGINX_REDIS_DIR/tls/ca.crt;
    bluebutton_redis_ssl_session_reuse off;
--- pipelined_requests eval
["GET /p", "GET /control/do/kill", "GET /control/pause/300", "GET /p"]
--- error_code eval
[200, 200, 200, 200]
--- error_log eval
qr/bluebutton: TLS to redis "127\.0\.0\.1:1993"$/
--- no_error_log
session reused



=== TEST 13: the decision cache over TLS: its invalidation feed is TLS too
--- init
BB::start_tls_redis(1990, 1993);
{ local $BB::Port = 1990; BB::consent('tok'); }
BB::start_control(undef, revoke => sub {
    local $BB::Port = 1990;
    BB::revoke_grant('app-1', '-20140000008325');
});
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_trusted_certificate $TEST_NGINX_REDIS_DIR/tls/ca.crt;
    bluebutton_cache zone=tls:1m ttl=60s;
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
["GET /control/pause/" . ($ENV{TEST_NGINX_USE_VALGRIND} ? 3000 : 400),
 "GET /p", "GET /p", "GET /control/do/revoke", "GET /control/pause/50",
 "GET /p"]
--- error_code eval
[200, 200, 200, 200, 200, 401]
--- response_headers eval
["", "X-Cache: MISS", "X-Cache: HIT", "", "", "X-Cache: MISS"]
--- timeout: 10
--- no_error_log
is not trusted
temporarily_unavailable



=== TEST 14: verification without a CA is refused by nginx -t
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
--- config
--- must_die
--- error_log
no "bluebutton_redis_ssl_trusted_certificate" for "bluebutton_redis_ssl_verify"



=== TEST 15: a client certificate without its key
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_verify off;
    bluebutton_redis_ssl_certificate $TEST_NGINX_REDIS_DIR/tls/client.crt;
--- config
--- must_die
--- error_log
no "bluebutton_redis_ssl_certificate_key" for "bluebutton_redis_ssl_certificate"



=== TEST 16: TLS to a unix socket
--- http_config
    bluebutton_redis unix:$TEST_NGINX_REDIS_SOCKET;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_verify off;
--- config
--- must_die
--- error_log
Redis speaks TLS over TCP only



=== TEST 17: a certificate file that is not there
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_trusted_certificate $TEST_NGINX_REDIS_DIR/tls/no-such.crt;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*no-such\.crt/



=== TEST 18: a cipher list OpenSSL does not know
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_verify off;
    bluebutton_redis_ssl_ciphers NO-SUCH-CIPHER;
--- config
--- must_die
--- error_log
SSL_CTX_set_cipher_list("NO-SUCH-CIPHER") failed



=== TEST 19: a protocol name that is not one
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_protocols TLSv9;
--- config
--- must_die
--- error_log
invalid value "TLSv9"



=== TEST 20: a server block that says nothing of Redis uses the http level's TLS
--- init
BB::start_tls_redis(1990, 1993);
{ local $BB::Port = 1990; BB::consent('tok'); }
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_trusted_certificate $TEST_NGINX_REDIS_DIR/tls/ca.crt;

    server {
        listen 127.0.0.1:$TEST_NGINX_H2_PORT;

        location /p {
            bluebutton on;
            proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        }
    }
--- config
    location /p {
        proxy_pass http://127.0.0.1:$TEST_NGINX_H2_PORT;
    }
--- request
GET /p
--- response_body
backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]
--- no_error_log eval
[qr/\[error\] .*temporarily_unavailable/, qr/\[error\] .*is not trusted/,
 qr/\[error\] .*TLS handshake/]



=== TEST 21: forged signatures leave no OpenSSL error for the next TLS read from Redis
--- init
BB::start_tls_redis(1990, 1993);
{ local $BB::Port = 1990; BB::consent('tok'); }
--- http_config
    bluebutton_redis 127.0.0.1:1993;
    bluebutton_redis_ssl on;
    bluebutton_redis_ssl_trusted_certificate $TEST_NGINX_REDIS_DIR/tls/ca.crt;
    bluebutton_redis_ssl_name redis.test;
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-tls.json;
        bluebutton_jwt_algorithms RS256 PS256 ES256;
        add_header X-Verdict $bluebutton_decision always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- pipelined_requests eval
["GET /p", "GET /p", "GET /p", "GET /p"]
--- more_headers eval
[@main::Forged, "Authorization: Bearer tok"]
--- error_code eval
[401, 401, 401, 200]
--- response_headers eval
["X-Verdict: invalid_token", "X-Verdict: invalid_token",
 "X-Verdict: invalid_token", "X-Verdict: allow"]
--- no_error_log eval
[qr/stale global SSL error/, qr/\[alert\]/, qr/\[error\] .*TLS handshake/]



=== TEST 22: forged signatures leave no OpenSSL error for the worker's next TLS handshake, as client and as server
--- init
BB::start_tls_redis(1990, 1993);
{ local $BB::Port = 1990; BB::consent('tok'); }
--- http_config
    bluebutton_redis 127.0.0.1:1990;

    server {
        listen 127.0.0.1:$TEST_NGINX_H2_PORT ssl;
        ssl_certificate $TEST_NGINX_REDIS_DIR/tls/server.crt;
        ssl_certificate_key $TEST_NGINX_REDIS_DIR/tls/server.key;

        location / {
            return 200 "tls\n";
        }
    }
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-tls.json;
        bluebutton_jwt_algorithms RS256 PS256 ES256;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }

    # no session kept: nginx holds a reused one until exit, which
    # valgrind would report as lost
    location /tls {
        proxy_pass https://127.0.0.1:$TEST_NGINX_H2_PORT;
        proxy_ssl_session_reuse off;
    }
--- pipelined_requests eval
["GET /p", "GET /p", "GET /p", "GET /tls"]
--- more_headers eval
[@main::Forged, ""]
--- error_code eval
[401, 401, 401, 200]
--- response_body eval
[qr/invalid_token/, qr/invalid_token/, qr/invalid_token/, "tls\n"]
--- no_error_log eval
[qr/stale global SSL error/, qr/\[alert\]/]
