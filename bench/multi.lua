-- wrk: POST the body in $BODY_FILE to three served models in turn.
local f = assert(io.open(os.getenv("BODY_FILE"), "r"))
local body = f:read("*a")
f:close()
local paths = { "/models/california/predict", "/models/other1/predict", "/models/other2/predict" }
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("POST", paths[i], { ["Content-Type"] = "application/json" }, body)
end
