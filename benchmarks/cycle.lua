-- wrk script: POST request bodies read from files, cycling through them.
--
--   wrk -s benchmarks/cycle.lua http://127.0.0.1:PORT -- MANIFEST [PATH]
--
-- MANIFEST is a text file naming one JSON body file per line; PATH defaults to /evaluate.
-- Each wrk thread starts at a different offset so the threads do not all send the same document.
-- At the end one line "WRK_JSON {...}" is written to stdout for benchmarks/_common.py to parse
-- (latencies in microseconds; non2xx counts every response whose status is outside 200-299).

local bodies = {}
local counter = 0
non2xx = 0
ok2xx = 0

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init(args)
  local manifest = args[1]
  local path = args[2] or "/evaluate"
  local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/fhir+json" }
  for line in io.lines(manifest) do
    if line ~= "" then
      local f = assert(io.open(line, "rb"))
      local body = f:read("*a")
      f:close()
      bodies[#bodies + 1] = wrk.format("POST", path, headers, body)
    end
  end
  assert(#bodies > 0, "no request bodies in " .. manifest)
  counter = (id or 0) * 7
end

function request()
  counter = counter + 1
  return bodies[(counter % #bodies) + 1]
end

function response(status, headers, body)
  if status >= 200 and status <= 299 then
    ok2xx = ok2xx + 1
  else
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad, good = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
    good = good + (t:get("ok2xx") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"ok2xx":%d,"non2xx":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes, good, bad,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
