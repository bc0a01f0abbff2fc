#!/usr/bin/env python3
"""Forged console forms in a real headless Chromium: a person is logged in to the console; a page of
another origin on the same site (another port of the same host: "same site" for the browser, so a
SameSite=Strict cookie goes along) submits the console's kill form, and then its login form with
the attacker's own token (login CSRF). Neither may take effect. Run by browser-tests/run."""

import argparse
import http.server
import json
import os
import subprocess
import sys
import threading
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

p = argparse.ArgumentParser()
p.add_argument("--base", required=True, help="the console's origin, http://127.0.0.1:PORT")
p.add_argument("--token", required=True, help="the person's token (project default)")
p.add_argument("--attacker-token", required=True, help="a token of the attacker's own project")
p.add_argument("--baton", required=True, help="the baton binary (DATABASE_URL set)")
p.add_argument("--shots", required=True)
a = p.parse_args()


def baton(*args):
    return subprocess.run([a.baton, *args], check=True, capture_output=True, text=True).stdout


# A job that runs for a minute: the forged kill's target.
job = json.loads(baton("jobs", "create", "--component", "ok", "--config", "load",
                       "--parameters", '{"seconds": 60}', "--json"))
job_id = job["id"] if isinstance(job, dict) else job[0]["id"]


def status():
    return json.loads(baton("jobs", "show", str(job_id), "--json"))["status"]


PAGES = {
    "/kill.html": f"""<!doctype html><title>cute cats</title>
<form method="post" action="{a.base}/console/jobs/{job_id}/kill"><input type="hidden" name="csrf" value="guess"></form>
<script>document.forms[0].submit()</script>""",
    "/login.html": f"""<!doctype html><title>more cats</title>
<form method="post" action="{a.base}/console/login"><input type="hidden" name="token" value="{a.attacker_token}">
<input type="hidden" name="csrf" value="guess"></form><script>document.forms[0].submit()</script>""",
}


class Attacker(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = PAGES.get(self.path, "not here").encode()
        self.send_response(200 if self.path in PAGES else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
threading.Thread(target=server.serve_forever, daemon=True).start()
evil = f"http://127.0.0.1:{server.server_address[1]}"
print(f"attacker pages at {evil} (another origin, the same site as {a.base})")

options = webdriver.ChromeOptions()
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
    options.add_argument(arg)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(driver, 30, poll_frequency=0.2)
failures = []


def check(condition, message):
    if not condition:
        driver.save_screenshot(os.path.join(a.shots, f"csrf-failure-{len(failures)}.png"))
        failures.append(message)
        print(f"  FAIL {message}")


def project_shown():
    driver.get(a.base + "/console/orchestrations")
    return driver.find_element(By.TAG_NAME, "nav").text if driver.find_elements(By.TAG_NAME, "nav") else driver.current_url


try:
    print("the person logs in")
    driver.get(a.base + "/console/login")
    driver.find_element(By.ID, "token").send_keys(a.token)
    driver.find_element(By.ID, "login").click()
    wait.until(lambda d: d.current_url.endswith("/console/orchestrations"))
    wait.until(lambda d: status() == "processing")
    print(f"  job {job_id} runs")

    print("another origin submits the kill form")
    driver.get(evil + "/kill.html")
    wait.until(lambda d: d.current_url.startswith(a.base))
    time.sleep(1.5)
    after = status()
    check(after == "processing", f"a forged kill from {evil} stopped job {job_id}: it is {after}")

    print("another origin logs the person in as the attacker (login CSRF)")
    driver.get(evil + "/login.html")
    wait.until(lambda d: d.current_url.startswith(a.base))
    shown = project_shown()
    check("project default" in shown and "project evil" not in shown,
          f"after a forged login the console shows: {shown!r}")
finally:
    driver.quit()
    server.shutdown()
    subprocess.run([a.baton, "jobs", "kill", str(job_id)], capture_output=True)

if failures:
    print(f"csrf test FAILED: {len(failures)} forged form(s) took effect")
    sys.exit(1)
print("csrf test passed")
