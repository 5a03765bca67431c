-- wrk script: GET requests with the token from $GARANTI_TOKEN, on the path given as wrk's URL.
-- wrk -t2 -c64 -d20s --latency -s benches/http/get.lua http://127.0.0.1:8080/v1/sanctions/s-101-7-0
function init(args)
  token = os.getenv("GARANTI_TOKEN")
end

function request()
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. token})
end
-- No response callback: it would copy every body into Lua, load on the client's side of the
-- shared cores. Statuses other than 2xx are counted by wrk itself (run.sh prints them).
