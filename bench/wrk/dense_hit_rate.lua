-- POST /v2/models/dense/infer with a chosen share of repeated inputs: HIT_PERCENT of the requests
-- repeat one of 16 fixed inputs (cache hits once stored), the rest are unique to their thread and
-- number (always a miss). HIT_PERCENT comes from the environment (0-100).
local hit_percent = tonumber(os.getenv("HIT_PERCENT") or "0")
local rest = {}
for i = 3, 512 do rest[#rest + 1] = string.format("%.3f", (i % 97) / 97) end
local tail = table.concat(rest, ",")
local counter = 0
local threads = 0

-- Each thread its own number, so no two threads send the same "unique" input.
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  math.randomseed(os.time() * 100 + id)
end

-- The first two values tell requests apart (each exact in FP32: below 2^24).
local function body(a, b)
  return '{"inputs":[{"name":"input","datatype":"FP32","shape":[1,512],"data":[' .. a .. "," .. b .. "," .. tail .. "]}]}"
end

request = function()
  counter = counter + 1
  local text
  if math.random(100) <= hit_percent then
    text = body(0, math.random(16))
  else
    text = body(id, counter)
  end
  return wrk.format("POST", "/v2/models/dense/infer", {["Content-Type"] = "application/json"}, text)
end
