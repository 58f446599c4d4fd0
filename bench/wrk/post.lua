-- Posts one event, the same bytes every time: the saturation run.
--   wrk -t1 -c50 -d5s -s post.lua http://127.0.0.1:PORT/ingest -- FILE
-- wrk builds the request once from wrk.method/body/headers after init(),
-- so the loop costs the load generator nothing per request.

local function slurp(path)
    local f = assert(io.open(path, "rb"))
    local body = f:read("*a")
    f:close()
    return (body:gsub("[\r\n]+$", ""))
end

function init(args)
    wrk.method = "POST"
    wrk.body = slurp(args[1])
    wrk.headers["Content-Type"] = "application/json"
end

-- One machine-readable line for bench/bench.py.
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "WRK_RESULT requests=%d duration_us=%d non2xx=%d connect=%d " ..
        "read=%d write=%d timeout=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.duration, e.status, e.connect, e.read,
        e.write, e.timeout, latency:percentile(50), latency:percentile(99)))
end
