-- Posts the 1,000 reference events in turn, with the escaped event
-- (strings holding \n, \", \t, \\ and non-ASCII text) as every 100th:
-- the acceptance run, which shows which servers take escaped strings.
--   wrk -t1 -c50 -d3s -s varied.lua URL -- events.ndjson escaped.json

local requests = {}
local next_index = 1
local ESCAPED_EVERY = 100

local function lines(path)
    local out = {}
    for line in io.lines(path) do
        if #line > 0 then
            out[#out + 1] = line
        end
    end
    return out
end

function init(args)
    local headers = { ["Content-Type"] = "application/json" }
    local escaped = lines(args[2])[1]
    for i, body in ipairs(lines(args[1])) do
        requests[#requests + 1] = wrk.format("POST", nil, headers, body)
        if i % (ESCAPED_EVERY - 1) == 0 then
            requests[#requests + 1] = wrk.format("POST", nil, headers,
                                                 escaped)
        end
    end
end

function request()
    local r = requests[next_index]
    next_index = next_index % #requests + 1
    return r
end

function done(summary, latency, requests_)
    local e = summary.errors
    io.write(string.format(
        "WRK_RESULT requests=%d duration_us=%d non2xx=%d connect=%d " ..
        "read=%d write=%d timeout=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.duration, e.status, e.connect, e.read,
        e.write, e.timeout, latency:percentile(50), latency:percentile(99)))
end
