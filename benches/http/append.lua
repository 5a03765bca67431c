-- wrk script: single-event appends, each to its own stream, with the token from $GARANTI_TOKEN.
-- wrk -t2 -c64 -d20s --latency -s benches/http/append.lua http://127.0.0.1:8080
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  token = os.getenv("GARANTI_TOKEN")
end

function request()
  counter = counter + 1
  local body = string.format(
    '[{"stream":"dk-101:load-%d-%d","type":"sanction_guidance_given","effective_at":"2017-03-01T10:00:00+01:00","actor":"load","data":{}}]',
    id, counter)
  return wrk.format("POST", "/v1/events", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end
-- Statuses other than 2xx are counted by wrk itself (run.sh prints them).
