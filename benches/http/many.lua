-- wrk script: GET requests over many paths, one per line of the file $GARANTI_PATHS, each request
-- to one picked at random, with the token from $GARANTI_TOKEN.
-- GARANTI_PATHS=paths.txt wrk -t2 -c64 -d10s --latency -s benches/http/many.lua http://127.0.0.1:8080
function init(args)
  token = os.getenv("GARANTI_TOKEN")
  paths = {}
  for line in io.lines(os.getenv("GARANTI_PATHS")) do
    paths[#paths + 1] = line
  end
  -- Each wrk thread its own sequence.
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  return wrk.format("GET", paths[math.random(#paths)], {["Authorization"] = "Bearer " .. token})
end
