# Signed JWT access tokens: every algorithm good and tampered, key
# selection and rotation, claims, algorithm confusion, bounds, and live
# consent and revocation in Redis.

use Test::Nginx::Socket 'no_plan';
use BB;

repeat_each(1);
no_shuffle();
master_on();

# A block's log is checked whole after each of its requests, so that a
# line logged by one request (a refused reload) stays visible while the
# later requests show what kept serving.
check_accum_error_log();

our $Dir = BB::keys_dir();

# key sets, written before any nginx starts
BB::jwks('jwks.json', map { BB::jwk($_) } qw(rsa1 rsa2 ec256 ec384 ec521 ed));
BB::jwks('jwks-rsa1.json', BB::jwk('rsa1'));
BB::jwks('jwks-rsa2.json', BB::jwk('rsa2'));
BB::jwks('jwks-nokid.json', BB::jwk('rsa1', kid => undef),
         BB::jwk('ec256', kid => undef));
BB::jwks('jwks-two-rsa.json', BB::jwk('rsa1', kid => undef),
         BB::jwk('rsa2', kid => undef));
BB::jwks('jwks-hmac.json', BB::hmac_jwk(), BB::jwk('rsa1'));
BB::jwks('jwks-alg.json', BB::jwk('rsa1', alg => 'PS256'));
BB::jwks('jwks-private.json', { %{ BB::jwk('rsa1') }, d => 'AQAB' });
BB::jwks('jwks-short-hmac.json', BB::hmac_jwk('too short'));
BB::jwks('jwks-bad-ec.json', { %{ BB::jwk('ec256') }, x => BB::b64url("\x01" x 32) });
BB::write_file("$Dir/not-keys.txt", "hello\n");
BB::jwks('jwks-dup-kid.json', BB::jwk('rsa1'), BB::jwk('rsa2', kid => 'rsa1'));
BB::write_file("$Dir/jwks-empty.json", qq({"keys":[]}\n));
BB::write_file("$Dir/jwks-active.json",
               do { local (@ARGV, $/) = ("$Dir/jwks-rsa1.json"); <> });
BB::write_file("$Dir/jwks-reload.json",
               do { local (@ARGV, $/) = ("$Dir/jwks-rsa2.json"); <> });
system("cp $Dir/rsa1.pem $Dir/private.pem") == 0 or die;

sub tampered {
    my ($h, $p, $s) = split /\./, shift;
    my $claims = JSON::PP->new->decode(MIME::Base64::decode_base64(
                     do { (my $x = $p) =~ tr{-_}{+/}; $x }));
    $claims->{sub} = '-20140000010000';
    return join '.', $h, BB::b64url(JSON::PP->new->canonical->encode($claims)), $s;
}

add_block_preprocessor(sub {
    my $block = shift;

    BB::defaults($block);

    if (!defined $block->config) {
        $block->set_value('config', <<'END' . $BB::Control);
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
END
    }

    # "--- refusal_log": $bluebutton_refusal_cause and the decision logged
    # into error.log, with an issuer required and one jti revoked
    if (defined $block->refusal_log) {
        $block->set_value('init', "BB::flush(); BB::grant('app-1', '-20140000008325');"
                                  . " BB::set('bb:revoked:jti-revoked-2', '1');");
        $block->set_value('http_config', <<'END' . $BB::Backend);
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    log_format cause "cause=[$bluebutton_refusal_cause] decision=[$bluebutton_decision]";
END
        $block->set_value('config', <<'END');
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks.json;
        bluebutton_jwt_issuer https://auth.example;
        access_log logs/error.log cause;
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

=== TEST 1: RS256
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1')
--- error_code: 200
--- response_body
backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]



=== TEST 2: RS256 tampered
--- token eval: main::tampered(BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1'))
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="bluebutton", error="invalid_token", error_description="The access token's signature is not valid"
--- no_error_log
[error]



=== TEST 3: RS384
--- token eval: BB::jwt(alg => 'RS384', key => 'rsa1', kid => 'rsa1')
--- error_code: 200



=== TEST 4: RS384 tampered
--- token eval: main::tampered(BB::jwt(alg => 'RS384', key => 'rsa1', kid => 'rsa1'))
--- error_code: 401



=== TEST 5: RS512
--- token eval: BB::jwt(alg => 'RS512', key => 'rsa1', kid => 'rsa1')
--- error_code: 200



=== TEST 6: RS512 tampered
--- token eval: main::tampered(BB::jwt(alg => 'RS512', key => 'rsa1', kid => 'rsa1'))
--- error_code: 401



=== TEST 7: PS256
--- token eval: BB::jwt(alg => 'PS256', key => 'rsa1', kid => 'rsa1')
--- error_code: 200



=== TEST 8: PS256 tampered
--- token eval: main::tampered(BB::jwt(alg => 'PS256', key => 'rsa1', kid => 'rsa1'))
--- error_code: 401



=== TEST 9: PS384
--- token eval: BB::jwt(alg => 'PS384', key => 'rsa2', kid => 'rsa2')
--- error_code: 200



=== TEST 10: PS384 tampered
--- token eval: main::tampered(BB::jwt(alg => 'PS384', key => 'rsa2', kid => 'rsa2'))
--- error_code: 401



=== TEST 11: PS512
--- token eval: BB::jwt(alg => 'PS512', key => 'rsa2', kid => 'rsa2')
--- error_code: 200



=== TEST 12: PS512 tampered
--- token eval: main::tampered(BB::jwt(alg => 'PS512', key => 'rsa2', kid => 'rsa2'))
--- error_code: 401



=== TEST 13: ES256
--- token eval: BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256')
--- error_code: 200



=== TEST 14: ES256 tampered
--- token eval: main::tampered(BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256'))
--- error_code: 401



=== TEST 15: ES384
--- token eval: BB::jwt(alg => 'ES384', key => 'ec384', kid => 'ec384')
--- error_code: 200



=== TEST 16: ES384 tampered
--- token eval: main::tampered(BB::jwt(alg => 'ES384', key => 'ec384', kid => 'ec384'))
--- error_code: 401



=== TEST 17: ES512 (P-521, 66-byte halves)
--- token eval: BB::jwt(alg => 'ES512', key => 'ec521', kid => 'ec521')
--- error_code: 200



=== TEST 18: ES512 tampered
--- token eval: main::tampered(BB::jwt(alg => 'ES512', key => 'ec521', kid => 'ec521'))
--- error_code: 401



=== TEST 19: EdDSA
--- token eval: BB::jwt(alg => 'EdDSA', key => 'ed', kid => 'ed')
--- error_code: 200



=== TEST 20: EdDSA tampered
--- token eval: main::tampered(BB::jwt(alg => 'EdDSA', key => 'ed', kid => 'ed'))
--- error_code: 401



=== TEST 21: ES256 signed with the P-384 key's kid: the curve must match
--- token eval: BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec384')
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token's algorithm does not match its key"}



=== TEST 22: an unknown kid
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa9')
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token's key id is not known"}



=== TEST 23: rotation: the new key's tokens are accepted next to the old one's
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa2', kid => 'rsa2')
--- error_code: 200



=== TEST 24: a token signed by one key but naming the other is refused
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa2', kid => 'rsa1')
--- error_code: 401



=== TEST 25: no kid: accepted when exactly one key of the family is known
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-nokid.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'PS256', key => 'rsa1')
--- error_code: 200



=== TEST 26: no kid and two RSA keys: refused rather than tried in turn
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-two-rsa.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1')
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token names no key id and several keys fit"}



=== TEST 27: a PEM public key file
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/rsa1.pub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1')
--- error_code: 200



=== TEST 28: a JWK's own "alg" pins it
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-alg.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1')
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token's algorithm does not match its key"}



=== TEST 29: bluebutton_jwt_algorithms pins the accepted set
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks.json;
        bluebutton_jwt_algorithms ES256 EdDSA;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1')
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token's algorithm is not accepted"}



=== TEST 30: alg none
--- token eval: BB::b64url('{"alg":"none","typ":"at+jwt"}') . '.' . BB::b64url('{"sub":"-20140000008325","client_id":"app-1","exp":' . (time() + 600) . '}') . '.'
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token's algorithm is not accepted"}



=== TEST 31: HS256 signed with the RSA public key's PEM as the secret
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-hmac.json;
        bluebutton_jwt_algorithms RS256 HS256;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'HS256', kid => 'rsa1', key => do { local (@ARGV, $/) = ("$::Dir/rsa1.pub"); <> })
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token's algorithm does not match its key"}



=== TEST 32: HS256 is refused unless named in bluebutton_jwt_algorithms
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-hmac.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'HS256', kid => 'hs')
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token's algorithm is not accepted"}



=== TEST 33: HS256 with an explicit secret and algorithm
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-hmac.json;
        bluebutton_jwt_algorithms HS256 HS512;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'HS512', kid => 'hs')
--- error_code: 200



=== TEST 34: HS256 with the wrong secret
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-hmac.json;
        bluebutton_jwt_algorithms HS256;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'HS256', kid => 'hs', key => 'x' x 40)
--- error_code: 401



=== TEST 35: expired beyond the leeway
--- token eval: BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256', claims => { exp => int(time()) - 31 })
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token expired"}
--- error_log
(token_expired)



=== TEST 36: expired within the leeway
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks.json;
        bluebutton_jwt_leeway 1h;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256', claims => { exp => int(time()) - 120 })
--- error_code: 200



=== TEST 37: bluebutton_jwt_leeway 0s
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks.json;
        bluebutton_jwt_leeway 0s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256', claims => { exp => int(time()) - 5 })
--- error_code: 401



=== TEST 38: not valid yet
--- token eval: BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256', claims => { nbf => int(time()) + 300 })
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token is not valid yet"}



=== TEST 39: issued in the future
--- token eval: BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256', claims => { iat => int(time()) + 300 })
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token was issued in the future"}



=== TEST 40: the issuer must match
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks.json;
        bluebutton_jwt_issuer https://auth.example;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256', claims => { iss => 'https://evil.example' })
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token is from another issuer"}



=== TEST 41: the right issuer and an audience in an array
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks.json;
        bluebutton_jwt_issuer https://auth.example;
        bluebutton_jwt_audience https://api.example;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256', claims => { aud => ['https://other.example', 'https://api.example'] })
--- error_code: 200



=== TEST 42: a string audience that does not match
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks.json;
        bluebutton_jwt_audience https://api.example;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256', claims => { aud => 'https://other.example' })
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token is meant for another audience"}



=== TEST 43: an audience array without ours
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks.json;
        bluebutton_jwt_audience https://api.example;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256', claims => { aud => ['https://a.example', 'https://b.example'] })
--- error_code: 401



=== TEST 44: claims of the wrong type are refused, not coerced
--- token eval: BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256', claims => { exp => '' . (int(time()) + 600) })
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token has no valid \"exp\""}



=== TEST 45: patient wins over sub, azp stands in for client_id, scp for scope
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks.json;
        bluebutton_scope patient/Coverage.read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256', claims => { sub => 'user-77', patient => '-20140000008325', client_id => undef, azp => 'app-1', scope => undef, scp => ['patient/Coverage.read', 'profile'] })
--- error_code: 200
--- response_body
backend GET /p patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]



=== TEST 46: a scope claim that is not a string
--- token eval: BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256', claims => { scope => ['patient/Patient.read'] })
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token has invalid scopes"}



=== TEST 47: a patient that is not a FHIR id
--- token eval: BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256', claims => { sub => 'a/b' })
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token names no valid patient"}



=== TEST 48: a truncated signature
--- token eval: substr(BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1'), 0, -2)
--- error_code: 401



=== TEST 49: a padded segment is not base64url
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1') . '=='
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token is not valid base64url"}



=== TEST 49b: padding inside the token is not even RFC 6750 b64token
--- token eval: my $t = BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1'); $t =~ s/\./=./; $t
--- error_code: 400



=== TEST 50: a non-canonical final character
--- token eval: my $t = BB::jwt(alg => 'EdDSA', key => 'ed', kid => 'ed'); $t =~ s/(.)$/$1 eq 'A' ? 'B' : 'A'/e; $t
--- error_code: 401



=== TEST 51: JWE (five segments) is refused as such
--- token eval: CORE::join '.', map { BB::b64url($_) } '{"alg":"RSA-OAEP","enc":"A256GCM"}', 'k', 'iv', 'ct', 'tag'
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"Encrypted (JWE) access tokens are not accepted"}



=== TEST 52: a critical header parameter we do not understand
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1', header => { crit => ['exp'] })
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token has critical header parameters"}



=== TEST 53: claims nested too deeply are refused before the signature is checked
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1', claims => { x => [[[[[[[[[[1]]]]]]]]]] })
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token's claims are not a valid JSON object"}



=== TEST 54: a token over bluebutton_max_token_size
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks.json;
        bluebutton_max_token_size 512;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1')
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token is too large"}



=== TEST 55: the grant was revoked: a valid signature is not enough
--- init
BB::flush();
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1')
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The beneficiary revoked this application's access"}



=== TEST 56: the grant was recreated after the token was issued
--- init
BB::flush();
BB::grant('app-1', '-20140000008325', created => time() - 5);
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1', claims => { iat => int(time()) - 60 })
--- error_code: 401
--- error_log
(token_superseded)



=== TEST 57: the token's jti was revoked
--- init
BB::flush();
BB::grant('app-1', '-20140000008325');
BB::set('bb:revoked:jti-revoked-1', '1');
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1', claims => { jti => 'jti-revoked-1' })
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token was revoked"}



=== TEST 58: a token without jti is checked against the grant only
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1', claims => { jti => undef })
--- error_code: 200



=== TEST 59: Redis down: 503, never an allow on the signature alone
--- http_config
    bluebutton_redis 127.0.0.1:1988;
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1')
--- error_code: 503
--- response_headers
Retry-After: 5



=== TEST 60: opaque tokens still work where JWT keys are configured
--- init
BB::flush();
BB::consent('opaque-token-1');
--- more_headers
Authorization: Bearer opaque-token-1
--- error_code: 200



=== TEST 61: the same consent gives the same answer for a JWT and an opaque token
--- init
BB::flush();
BB::consent('opaque-token-1', scope => 'patient/Patient.read');
--- config
    location /v2/ {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answers off;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1', claims => { scope => 'patient/Patient.read' })
--- request eval
["GET /v2/fhir/Patient", "GET /v2/fhir/Coverage"]
--- error_code eval
[200, 403]
--- response_body eval
["backend GET /v2/fhir/Patient?_id=-20140000008325&_count=10&_format=application%2Ffhir%2Bjson patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 qq({"error":"insufficient_scope","error_description":"The access token does not grant the scope this resource requires","scope":"patient/Coverage.read"}\n)]



=== TEST 62: keys are reloaded on HUP
--- init
BB::flush();
BB::grant('app-1', '-20140000008325');
BB::start_control();
--- skip_eval: 8: $ENV{TEST_NGINX_USE_VALGRIND}
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-active.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location /control/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CONTROL_PORT;
    }
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa2', kid => 'rsa2')
--- request eval
["GET /p", "GET /control/keys/jwks-rsa2.json/jwks-active.json", "GET /control/nginx/hup", "GET /p"]
--- error_code eval
[401, 200, 200, 200]
--- no_error_log
[emerg]



=== TEST 62b: a key file that turned bad is refused on HUP; the old keys keep serving
--- init
BB::flush();
BB::grant('app-1', '-20140000008325');
BB::start_control();
BB::write_file("$main::Dir/jwks-reload.json",
               do { local (@ARGV, $/) = ("$main::Dir/jwks-private.json"); <> });
--- skip_eval: 4: $ENV{TEST_NGINX_USE_VALGRIND}
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-reload.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location /control/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CONTROL_PORT;
    }
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa2', kid => 'rsa2')
--- request eval
["GET /control/nginx/hup", "GET /p"]
--- error_code eval
[200, 200]
--- error_log eval
qr/\[emerg\] .*"bluebutton_jwt_keys" key file ".*jwks-reload.json" key #1 \(kid "rsa1"\): holds private key material/



=== TEST 63: a key file that does not exist
--- config
    location /p {
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/missing.json;
    }
--- must_die
--- error_log eval
qr/"bluebutton_jwt_keys" key file ".*missing.json" could not be opened \(2: No such file or directory\)/



=== TEST 64: a JWKS with private key material
--- config
    location /p {
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-private.json;
    }
--- must_die
--- error_log eval
qr/"bluebutton_jwt_keys" key file ".*jwks-private.json" key #1 \(kid "rsa1"\): holds private key material/



=== TEST 65: a PEM private key
--- config
    location /p {
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/private.pem;
    }
--- must_die
--- error_log eval
qr/"bluebutton_jwt_keys" key file ".*private.pem" holds a private key/



=== TEST 66: an HMAC secret that is too short
--- config
    location /p {
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-short-hmac.json;
    }
--- must_die
--- error_log eval
qr/key #1 \(kid "hs"\): is an HMAC secret shorter than 32 bytes/



=== TEST 67: an EC point that is not on the curve
--- config
    location /p {
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-bad-ec.json;
    }
--- must_die
--- error_log eval
qr/key #1 \(kid "ec256"\): is not a point on its curve/



=== TEST 68: neither JWKS nor PEM
--- config
    location /p {
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/not-keys.txt;
    }
--- must_die
--- error_log eval
qr/"bluebutton_jwt_keys" key file ".*not-keys.txt" holds no PEM public key and is not a JWKS/



=== TEST 69: an unknown algorithm name
--- config
    location /p {
        bluebutton_jwt_algorithms RS256 none;
    }
--- must_die
--- error_log
unsupported algorithm "none" in "bluebutton_jwt_algorithms"



=== TEST 70: a bad leeway
--- config
    location /p {
        bluebutton_jwt_leeway soon;
    }
--- must_die
--- error_log
"bluebutton_jwt_leeway" directive invalid value



=== TEST 71: two keys with one kid
--- config
    location /p {
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-dup-kid.json;
    }
--- must_die
--- error_log eval
qr/"bluebutton_jwt_keys" key file ".*jwks-dup-kid.json" has two keys with kid "rsa1" \(#1 and #2\)/



=== TEST 72: an empty key set says so
--- config
    location /p {
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-empty.json;
    }
--- must_die
--- error_log eval
qr/"bluebutton_jwt_keys" key file ".*jwks-empty.json" is an empty key set: "keys" lists none/



=== TEST 73: algorithms none of the keys can verify
--- config
    location /p {
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-rsa1.json;
        bluebutton_jwt_algorithms ES256 EdDSA;
    }
--- must_die
--- error_log
"bluebutton_jwt_algorithms" allows none of the algorithms the keys of "bluebutton_jwt_keys" can verify



=== TEST 74a: $bluebutton_refusal_cause and the refusal's log line: a bad signature
--- refusal_log
--- token eval: main::tampered(BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1'))
--- error_code: 401
--- error_log eval
[qr/cause=\[bad_signature\] decision=\[invalid_token\]/, qr/The access token's signature is not valid, token [0-9a-f]{16}, cause bad_signature, kid "rsa1", iss "https:\/\/auth.example"/]



=== TEST 74b: $bluebutton_refusal_cause and the refusal's log line: an unknown kid
--- refusal_log
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'no-such-key')
--- error_code: 401
--- error_log eval
[qr/cause=\[kid_unknown\] decision=\[invalid_token\]/, qr/cause kid_unknown, kid "no-such-key", iss "https:\/\/auth.example"/]



=== TEST 74c: $bluebutton_refusal_cause and the refusal's log line: another issuer, quoted in the log line
--- refusal_log
--- token eval: BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256', claims => { iss => 'https://evil.example/"x' })
--- error_code: 401
--- error_log eval
[qr/cause=\[wrong_issuer\] decision=\[invalid_token\]/, qr/cause wrong_issuer, kid "ec256", iss "https:\/\/evil.example\/\\"x"/]



=== TEST 74d: $bluebutton_refusal_cause and the refusal's log line: a revoked jti
--- refusal_log
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1', claims => { jti => 'jti-revoked-2' })
--- error_code: 401
--- error_log eval
[qr/cause=\[jti_revoked\] decision=\[invalid_token\]/]



=== TEST 74e: $bluebutton_refusal_cause and the refusal's log line: an allow has no cause
--- refusal_log
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1')
--- error_code: 200
--- error_log eval
[qr/cause=\[-\] decision=\[allow\]/]



=== TEST 75: $bluebutton_jwt_claim_NAME: claims of a verified JWT only
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    server {
        listen 127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        location / {
            return 200 "ok\n";
        }
    }
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks.json;
        add_header X-Iss "$bluebutton_jwt_claim_iss" always;
        add_header X-Exp-Set "${bluebutton_jwt_claim_exp}x" always;
        add_header X-Flag "$bluebutton_jwt_claim_flag" always;
        add_header X-Nested "[$bluebutton_jwt_claim_nested]" always;
        add_header X-None "[$bluebutton_jwt_claim_none]" always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /p", "GET /p", "GET /p"]
--- more_headers eval
["Authorization: Bearer " . BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1', claims => { exp => 4102444800, flag => JSON::PP::true, nested => { a => 1 } }),
 "Authorization: Bearer " . main::tampered(BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1')),
 "Authorization: Bearer tok-opaque"]
--- error_code eval
[200, 401, 401]
--- response_headers eval
["X-Iss: https://auth.example\nX-Exp-Set: 4102444800x\nX-Flag: true\nX-Nested: []\nX-None: []",
 "X-Iss: \nX-Exp-Set: x\nX-Flag: ",
 "X-Iss: \nX-Exp-Set: x"]



=== TEST 76: a JWT issued 10 s before the grant was given again is superseded, within the 30 s leeway too
--- init
BB::flush();
BB::grant('app-1', '-20140000008325', created => int(time()) - 60);
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1', claims => { iat => int(time()) - 70 })
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token predates the beneficiary's current consent"}



=== TEST 77: an audience required, a JWT without "aud": refused
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks.json;
        bluebutton_jwt_audience https://api.example;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- token eval: BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1', claims => { aud => undef })
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token is meant for another audience"}



=== TEST 78: a token with two dots that is not base64url is no JWT: looked up as an opaque token
--- init
BB::flush();
BB::grant('app-1', '-20140000008325');
BB::token('opaque+token.with~two.dots/x');
--- token: opaque+token.with~two.dots/x
--- error_code: 200
