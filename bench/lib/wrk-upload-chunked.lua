-- Uploads: every request is a POST /upload whose 1 MiB body is sent chunked, 16 chunks
-- of 64 KiB. Concatenated before wrk-report.lua.
local chunk = string.rep("c", 65536)
local parts = {}
for i = 1, 16 do
  parts[#parts + 1] = "10000\r\n" .. chunk .. "\r\n"
end
parts[#parts + 1] = "0\r\n\r\n"
local body = table.concat(parts)
local raw = nil

request = function()
  if raw == nil then
    raw = wrk.format("POST", nil, { ["Host"] = wrk.headers["Host"], ["Transfer-Encoding"] = "chunked",
      ["Content-Type"] = "application/octet-stream" }) .. body
  end
  return raw
end
