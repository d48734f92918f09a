-- GET /api/v1/households with the list filters, one query after another.
local token = os.getenv("TOKEN")
local queries = {
  "/api/v1/households?limit=50",
  "/api/v1/households?limit=50&main_cause=6",
  "/api/v1/households?limit=50&category=deep",
  "/api/v1/households?limit=50&status=filed&single_parent=true",
  "/api/v1/households?limit=50&disability_household=true",
  "/api/v1/households?limit=50&zero_employment=true&main_cause=3",
  "/api/v1/households?limit=50&region_code=610724&status=monitoring",
  "/api/v1/households?limit=200",
}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", queries[(i % #queries) + 1], { ["Authorization"] = "Bearer " .. token })
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d non2xx=%d\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
