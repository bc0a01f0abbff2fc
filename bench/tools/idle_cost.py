"""bench/tools/idle_cost.py BATON N MODE SECONDS: the cost at PostgreSQL of N idle workers.

A quick paired check beside `bench/run fleet` (which measures the same at 500 workers, release
build, with the whole fleet scenario): starts its own PostgreSQL (port 15460, /tmp/idle/pg), in
MODE `pooled` a PgBouncer in transaction mode (port 16460) and a `baton relay` (17460) with the
workers behind them, in `direct` workers with LISTEN, in `poll` workers that only poll; waits 25 s,
then reports over SECONDS: transactions/s (pg_stat_database) in all and per worker, and the
server's CPU (postmaster and its children, /proc) in % of a core. Run it as root (PostgreSQL and
PgBouncer run as the postgres user) on a machine that is otherwise quiet, once per build to compare:

    python3 bench/tools/idle_cost.py .build/debug/baton 100 pooled 40
"""
import os, subprocess, sys, time, signal, glob
B = sys.argv[1]; N = int(sys.argv[2]); mode = sys.argv[3]; secs = int(sys.argv[4])
PGPORT, BPORT, RPORT = 15460, 16460, 17460
url = subprocess.run([B, "db", "up", "--data-dir", "/tmp/idle/pg", "--port", str(PGPORT), "--database", "idle"], capture_output=True, text=True).stdout.split("DATABASE_URL=")[1].strip()
subprocess.run(["psql", "-X", "-q", url, "-c", "DROP SCHEMA public CASCADE", "-c", "CREATE SCHEMA public"], check=True)
subprocess.run([B, "migrate"], env={**os.environ, "DATABASE_URL": url}, check=True, capture_output=True)
procs = []
def psql(q): return subprocess.run(["psql", "-X", "-At", url, "-c", q], capture_output=True, text=True).stdout.strip()
env = dict(os.environ)
if mode in ("pooled", "pooled-listen"):
    os.makedirs("/tmp/idle/pgb", exist_ok=True)
    open("/tmp/idle/pgb/ini", "w").write(f"[databases]\n* = host=127.0.0.1 port={PGPORT}\n[pgbouncer]\nlisten_addr=127.0.0.1\nlisten_port={BPORT}\nauth_type=trust\nauth_file=/tmp/idle/pgb/users\npool_mode=transaction\nmax_client_conn=5000\ndefault_pool_size=40\nmax_db_connections=40\nignore_startup_parameters=extra_float_digits,options\nlogfile=/tmp/idle/pgb/log\n")
    open("/tmp/idle/pgb/users", "w").write('"postgres" ""\n')
    subprocess.run(["chown", "-R", "postgres", "/tmp/idle/pgb"])
    procs.append(subprocess.Popen(["runuser", "-u", "postgres", "--", "/usr/sbin/pgbouncer", "-q", "/tmp/idle/pgb/ini"], stderr=subprocess.DEVNULL))
    time.sleep(1)
    wurl = f"postgres://postgres@127.0.0.1:{BPORT}/idle"
else:
    wurl = url
if mode == "pooled":
    procs.append(subprocess.Popen([B, "relay", "--port", str(RPORT)], env={**env, "DATABASE_URL": url}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    env["BATON_WAKEUPS"] = f"127.0.0.1:{RPORT}"
elif mode == "poll":
    env["BATON_WAKEUPS"] = "poll"
for i in range(N):
    procs.append(subprocess.Popen([B, "worker", "--concurrency", "2", "--worker-id", f"w{i}"], env={**env, "DATABASE_URL": wurl}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
time.sleep(25)  # start-up settles
def pgcpu():
    pid = int(open("/tmp/idle/pg/data/postmaster.pid").readline())
    tot = 0
    for d in glob.glob("/proc/[0-9]*"):
        try:
            st = open(d + "/stat").read().rsplit(")", 1)[1].split()
            ppid = int(st[1])
            if int(d[6:]) == pid or ppid == pid:
                tot += int(st[11]) + int(st[12])
        except Exception: pass
    return tot / os.sysconf("SC_CLK_TCK")
def stat(): return [int(x) for x in psql("SELECT xact_commit + xact_rollback, tup_fetched FROM pg_stat_database WHERE datname = 'idle'").split("|")]
conns0 = psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'idle'")
c0, s0, t0 = pgcpu(), stat(), time.time()
time.sleep(secs)
c1, s1, t1 = pgcpu(), stat(), time.time()
conns = psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'idle'")
live = psql("SELECT count(*) FROM workers WHERE stopped_time IS NULL") if True else ""
el = t1 - t0
print(f"mode={mode} workers={N} live={live} server_conns={conns} xacts/s={(s1[0]-s0[0])/el:.1f} per-worker={(s1[0]-s0[0])/el/N:.3f}/s pg_cpu={100*(c1-c0)/el:.2f}% of a core per-worker={1000*(c1-c0)/el/N:.3f} ms/s")
for p in procs: p.send_signal(signal.SIGTERM)
for p in procs:
    try: p.wait(15)
    except Exception: p.kill()
subprocess.run([B, "db", "down", "--data-dir", "/tmp/idle/pg"], capture_output=True)
