# Sourced by run.sh and noisy.sh: serve_demo BINARY CITIZENS makes a demo of CITIZENS citizens in
# the current directory, an admin token, and starts `garanti serve` on a free loopback port; it
# sets $server (its pid), $url, $auth and exports GARANTI_TOKEN.
serve_demo() {
  "$1" -q demo --citizens "$2" >/dev/null 2>&1
  "$1" token new --role admin --actor load --id load --tokens tokens.toml >token 2>/dev/null
  "$1" serve --listen 127.0.0.1:0 --tokens tokens.toml >serve.out 2>serve.err &
  server=$!
  while ! grep -q listening serve.out 2>/dev/null; do sleep 0.2; done
  url=$(sed -n 's/^garanti: listening on //p' serve.out)
  export GARANTI_TOKEN="$(cat token)"
  auth="Authorization: Bearer $GARANTI_TOKEN"
}
