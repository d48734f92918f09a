-- The work views of the workflows, one after another: the caller's queue, reviews due and
-- overdue, open applications, running notices.
local token = os.getenv("TOKEN")
local queries = {
  "/api/v1/queue",
  "/api/v1/annual-reviews/due?limit=50",
  "/api/v1/annual-reviews/due?status=overdue&limit=50",
  "/api/v1/applications?state=submitted,county_review&limit=50",
  "/api/v1/public-notices?running=true&limit=50",
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
