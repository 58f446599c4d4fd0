-- Posts one NDJSON batch (a file), optionally with a Content-Encoding:
--   wrk -t1 -c8 -d5s -s batch.lua http://127.0.0.1:PORT/ingest -- FILE [gzip]
-- The body is read once; wrk sends the same bytes on every request.

function init(args)
    local f = assert(io.open(args[1], "rb"))
    wrk.body = f:read("*a")
    f:close()
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/x-ndjson"
    if args[2] then
        wrk.headers["Content-Encoding"] = args[2]
    end
end

function done(summary, latency, requests)
    io.write(string.format(
        "WRK_RESULT requests=%d duration_us=%d non2xx=%d errors=%d\n",
        summary.requests, summary.duration, summary.errors.status,
        summary.errors.connect + summary.errors.read +
        summary.errors.write + summary.errors.timeout))
end
