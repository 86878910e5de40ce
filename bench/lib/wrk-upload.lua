-- Uploads: every request is a POST /upload with a 1 MiB body and a Content-Length
-- (wrk adds the header from the body's length). Concatenated before wrk-report.lua.
wrk.method = "POST"
wrk.body = string.rep("u", 1048575) .. "\n"
wrk.headers["Content-Type"] = "application/octet-stream"
