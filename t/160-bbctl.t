# util/bbctl (bluebutton-ctl in the package) against the real Redis: a
# grant is not replaced without --renew, show and revoke say what is not
# there; and the JWKS and JWTs it makes are what the gateway verifies.

use Test::Nginx::Socket 'no_plan';
use BB;

repeat_each(1);
no_shuffle();

my $top = $ENV{TEST_NGINX_TOP} || '.';
my $dir = BB::keys_dir();
our $Bbctl = "BBCTL_REDIS_PORT=" . BB::port() . " $top/util/bbctl";

# runs bbctl: [exit code, stdout, stderr]
sub bbctl {
    my ($args) = @_;
    my $out = `$Bbctl $args 2>$dir/bbctl.err`;
    my $code = $? >> 8;
    my $err = do { local (@ARGV, $/) = ("$dir/bbctl.err"); <> } // '';
    return [$code, $out, $err];
}

BB::flush();

my $r = bbctl('grant create --client app-9 --patient -9');
is($r->[0], 0, 'grant create: a new grant');
is($r->[1], "bb:grant:app-9:-9\n", 'grant create: names the key');

$r = bbctl('grant create --client app-9 --patient -9');
is($r->[0], 2, 'grant create of an existing grant: refused');
like($r->[2], qr/bb:grant:app-9:-9 exists \(created \d+\): creating it again would refuse every token .* give --renew/s,
     'grant create of an existing grant: says why and what to do');

$r = bbctl('grant create --client app-9 --patient -9 --renew');
is($r->[0], 0, 'grant create --renew: replaced');
like($r->[2], qr/renewed: tokens issued before now are refused/, 'grant create --renew: warns');

$r = bbctl('grant show app-9 -9');
is($r->[0], 0, 'grant show');
like($r->[1], qr/\Abb:grant:app-9:-9\n\{"created":\d+\}\n\z/, 'grant show: key and value');

$r = bbctl('grant revoke app-9 -9');
is_deeply([$r->[0], $r->[1]], [0, "deleted bb:grant:app-9:-9\n"], 'grant revoke: says what was deleted');

$r = bbctl('grant revoke app-9 -9');
is($r->[0], 1, 'grant revoke of nothing: exit 1');
like($r->[2], qr/no grant at bb:grant:app-9:-9: nothing deleted/, 'grant revoke of nothing: says so');

$r = bbctl('grant show app-9 -9');
is($r->[0], 1, 'grant show of nothing: exit 1');
like($r->[2], qr/no grant at bb:grant:app-9:-9/, 'grant show of nothing: says so');

$r = bbctl('token show no-such-token');
is($r->[0], 1, 'token show of nothing: exit 1');

$r = bbctl('--help');
like($r->[2], qr/--ttl SECONDS \(3600\)/, 'the help gives the token lifetime');

# keys made by openssl, published by bbctl, tokens minted by bbctl
for (['rsa-cli', 'RSA', '-pkeyopt rsa_keygen_bits:2048'],
     ['ec-cli', 'EC', '-pkeyopt ec_paramgen_curve:P-256'],
     ['ec384-cli', 'EC', '-pkeyopt ec_paramgen_curve:P-384'],
     ['ed-cli', 'ED25519', ''])
{
    my ($name, $alg, $opt) = @$_;
    system("openssl genpkey -algorithm $alg $opt -out $dir/$name.pem 2>/dev/null") == 0
        or die "openssl genpkey $alg failed\n";
}

$r = bbctl("jwks $dir/rsa-cli.pem $dir/ec-cli.pem $dir/ec384-cli.pem $dir/ed-cli.pem");
is($r->[0], 0, 'jwks from PEM keys');
BB::write_file("$dir/jwks-cli.json", $r->[1]);

sub mint {
    my ($key, @more) = @_;
    my $r = bbctl("jwt mint --key $dir/$key.pem --kid $key --patient -20140000008325"
                  . " --client app-1 --scope patient/Patient.read @more");
    die "bbctl jwt mint: $r->[2]" if $r->[0];
    chomp(my $token = $r->[1]);
    return $token;
}

our @Tokens = map { mint($_, '--iss https://auth.example') }
              qw(rsa-cli ec-cli ec384-cli ed-cli);
our $Other = mint('rsa-cli', '--iss https://evil.example');

add_block_preprocessor(sub {
    my $block = shift;
    BB::defaults($block);
});

run_tests();

__DATA__

=== TEST 1: tokens minted by bbctl with RS256, ES256, ES384 and EdDSA, verified with the JWKS bbctl made
--- init
BB::flush();
BB::grant('app-1', '-20140000008325');
--- config
    location /p {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-cli.json;
        bluebutton_jwt_issuer https://auth.example;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /p", "GET /p", "GET /p", "GET /p", "GET /p"]
--- more_headers eval
[map({ "Authorization: Bearer $_" } @::Tokens), "Authorization: Bearer $::Other"]
--- error_code eval
[200, 200, 200, 200, 401]
