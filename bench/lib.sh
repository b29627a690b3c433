# Shared by the bench scripts: source it.

# Reads `wrk --latency` output on stdin; prints "req/s p50_ms p99_ms", or fails on non-2xx answers.
wrk_stats() {
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) } /^Requests\/sec/ { rps = $2 }
    /Non-2xx/ { bad = $NF }
    END { if (bad > 0) { print "non-2xx answers: " bad > "/dev/stderr"; exit 1 } printf "%.0f %.3f %.3f\n", rps, p50, p99 }'
}

# The median of the numbers on stdin, one a line.
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Starts nginx on 127.0.0.1:PORT (as many workers as cores, no access log), answering every request
# with a fixed JSON body like a /predict answer: the yardstick. Its files go in DIR.
# With HEAD and BODY (an answer of seraph's, as `curl -D HEAD -o BODY` saved it), nginx sends that
# answer instead: its body and its X- header fields (X-Request-Id a fresh id each time, as seraph's
# is), and keeps a buffered access log, as seraph does: a server that does no work but send and
# log seraph's bytes. EXTRAS picks which of seraph's extras nginx takes on ("fields log", the
# default; "fields"; or "" for the bare body), to show what each costs.
# Usage: start_nginx PORT DIR [HEAD BODY [EXTRAS]]; stop it with stop_nginx DIR.
start_nginx() {
  local port=$1 dir=$2 head=${3:-} body=${4:-} extras=${5-fields log}
  local log="access_log off;" fields=""
  local answer='{"label":"positive","scores":{"positive":0.97,"negative":0.03},"model":"sentiment","model_version":2}'
  if [ -n "$head" ]; then
    case " $extras " in *" log "*) log="access_log /dev/null combined buffer=64k flush=1s;" ;; esac
    case " $extras " in *" fields "*)
      fields=$(tr -d '\r' <"$head" | awk -F': ' 'tolower($1) ~ /^x-/ {
        printf "add_header %s \"%s\";\n", $1, tolower($1) == "x-request-id" ? "$request_id" : $2 }') ;;
    esac
    answer=$(cat "$body")
    # In nginx's quoted text a $ starts a variable and a quote or a backslash ends or escapes: an
    # answer holding one cannot be sent as it is.
    case $answer in *[\$\'\\]*) echo "start_nginx: cannot quote this answer for nginx: $answer" >&2; return 1 ;; esac
  fi
  mkdir -p "$dir"
  cat > "$dir/nginx.conf" <<CONF
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 1024; }
http {
  $log
  server {
    listen 127.0.0.1:$port reuseport;
    location / {
      default_type application/json;
      $fields
      return 200 '$answer';
    }
  }
}
CONF
  nginx -c "$dir/nginx.conf" -p "$dir"
}
# (It runs in EXIT traps under `set -e`: a failure there would skip the rest of the trap.)
stop_nginx() { if [ -f "$1/nginx.pid" ]; then kill "$(cat "$1/nginx.pid")" 2>/dev/null || true; fi; }

# Saves the answer seraph on PORT gives the request wrk sends with SCRIPT (its path and body) in
# HEAD and BODY, as start_nginx takes them.
# Usage: save_answer PORT SCRIPT HEAD BODY
save_answer() {
  local port=$1 script=$2 head=$3 body=$4
  curl -sf -D "$head" -o "$body" -H 'Content-Type: application/json' \
    -d "$(sed -n "s/^wrk.body = '\(.*\)'\$/\1/p" "$script")" \
    "http://127.0.0.1:$port$(sed -n 's/^wrk.path = "\(.*\)"$/\1/p' "$script")"
}

# Waits up to 10 s for seraph on PORT to be ready; prints LOG and fails otherwise.
wait_ready() {
  local port=$1 log=$2
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return 0; sleep 0.1; done
  cat "$log"
  return 1
}
