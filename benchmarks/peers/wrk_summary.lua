-- wrk script for benchmarks/peers.py: after the run, print one machine-readable line
-- with wrk's own counts and its exact median latency (microseconds), so the script
-- does not parse wrk's rounded human summary ("1.37ms").
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "Z6PEERS requests=%d duration_us=%d p50_us=%d connect_errors=%d read_errors=%d write_errors=%d status_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, latency:percentile(50),
    e.connect, e.read, e.write, e.status, e.timeout))
end
