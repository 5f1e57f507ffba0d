-- wrk script of benchmarks/serving.py: wrk's -d bounds the time of a run, this bounds its count
-- (each thread stops after its share), and the run ends with one JSON line. request() returns
-- the one request formatted once: a response() callback would cost wrk a quarter more CPU.
local limit, count, req = 0, 0, nil

function init(args)
  limit = tonumber(args[1]) or 0
  req = wrk.format()
end

function request()
  count = count + 1
  if limit > 0 and count > limit then
    wrk.thread:stop()
  end
  return req
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "bytes": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
