# Every configuration in docs/examples passes "nginx -t" with the module
# loaded, so that none of them drifts from what the module accepts.  Paths
# of the machine (load snippets, certificates, key sets, logs) are pointed
# at files made here; nothing else in the examples is changed.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use BB;

my $top = $ENV{TEST_NGINX_TOP} || '.';
my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my $module = $ENV{TEST_NGINX_LOAD_MODULES}
    or plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set (use t/run)';

my @examples = sort glob "$top/docs/examples/*.conf";
plan tests => 2 * @examples;

my $dir = tempdir(CLEANUP => 1);
mkdir "$dir/$_" for qw(bluebutton logs);

# the distribution's own, wherever nginx came from
BB::write_file("$dir/mime.types",
               "types {\n    text/html html;\n    application/json json;\n}\n");

# what the examples read: a server certificate and a published key set
system("openssl req -x509 -newkey rsa:2048 -nodes -days 1"
       . " -subj /CN=api.bluebutton.example"
       . " -keyout '$dir/bluebutton/api.key' -out '$dir/bluebutton/api.crt'"
       . " 2>/dev/null") == 0
    or die "openssl req failed\n";
for (['api.crt', 'auth-ca.pem'], ['api.crt', 'redis-ca.crt'],
     ['api.crt', 'redis-client.crt'], ['api.key', 'redis-client.key'])
{
    system('cp', "$dir/bluebutton/$_->[0]", "$dir/bluebutton/$_->[1]") == 0
        or die "cp failed\n";
}
BB::jwks('jwks-example.json', BB::jwk('rsa1'), BB::jwk('ec256'));
system('cp', BB::keys_dir() . '/jwks-example.json',
       "$dir/bluebutton/jwks.json") == 0 or die "cp failed\n";

# nginx 1.25.1 and later take "http2 on;" where 1.22 takes "listen ... http2"
my ($major, $minor, $patch) = `'$nginx' -v 2>&1` =~ m{nginx/(\d+)\.(\d+)\.(\d+)};
my $http2_directive = sprintf('%03d%03d%03d', $major // 0, $minor // 0,
                              $patch // 0) ge '001025001';

for my $example (@examples) {
    my ($name) = $example =~ m{([^/]+)$};
    my $text = do { local (@ARGV, $/) = ($example); <> };

    $text =~ s{include /etc/nginx/modules-enabled/\*\.conf;}
              {load_module $module;}
        or die "$name does not include the load snippets\n";
    $text =~ s{/etc/nginx/bluebutton/}{$dir/bluebutton/}g;
    $text =~ s{/etc/nginx/mime\.types}{$dir/mime.types}g;
    $text =~ s{/var/log/nginx/}{$dir/logs/}g;
    $text =~ s{/run/nginx\.pid}{$dir/logs/nginx.pid}g;
    $text =~ s{^(\s*)listen (.*) http2;}{$1listen $2;\n$1http2 on;}mg
        if $http2_directive;

    my $conf = "$dir/$name";
    BB::write_file($conf, $text);

    my $out = `'$nginx' -t -p '$dir' -c '$conf' 2>&1`;
    is($?, 0, "$name - nginx -t accepts it") or diag($out);
    unlike($out, qr/\[(?:warn|emerg|alert|crit)\]/,
           "$name - and has nothing to warn about") or diag($out);
}
