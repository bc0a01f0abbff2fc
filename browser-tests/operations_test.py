#!/usr/bin/env python3
"""Operating the queue from the console in a real headless Chromium (Selenium): filter jobs by
status and configuration and find a failed one; open it and read its failure message; follow a
running job's log past 500 lines with the reader's scroll position kept; pause a configuration
and see its jobs wait with reason `paused`, resume and see them run; bulk-kill 50 waiting jobs
by filter; the fleet page lists the running workers and the active coordinator. Saves a
screenshot of each page. Run by browser-tests/run after console_test.py."""

import argparse
import json
import os
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

p = argparse.ArgumentParser()
p.add_argument("--base", required=True)
p.add_argument("--token", required=True)
p.add_argument("--shots", required=True)
a = p.parse_args()
os.makedirs(a.shots, exist_ok=True)

options = webdriver.ChromeOptions()
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1100"):
    options.add_argument(arg)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(driver, 60, poll_frequency=0.2)


def api(method, path, body=None):
    request = urllib.request.Request(a.base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {a.token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"null")


def shot(name):
    """Saves the whole page (up to 2,400 px tall), then goes back to the usual window."""
    path = os.path.join(a.shots, f"{name}.png")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(height, 1100), 2400))
    driver.save_screenshot(path)
    driver.set_window_size(1280, 1100)
    print(f"  screenshot {path}")


def check(condition, message):
    if not condition:
        shot("failure-operations")
        raise AssertionError(message)


def confirm():
    WebDriverWait(driver, 5).until(EC.alert_is_present())
    driver.switch_to.alert.accept()


def job_status(job_id):
    return api("GET", f"/v1/jobs/{job_id}")["status"]


def wait_api(predicate, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def tab_count(status):
    return int(driver.find_element(By.CSS_SELECTOR, f"#tab-{status} .count").text)


try:
    print("log in")
    driver.get(a.base + "/console/login")
    driver.find_element(By.ID, "token").send_keys(a.token)
    driver.find_element(By.ID, "login").click()
    wait.until(lambda d: d.current_url.endswith("/console/orchestrations"))

    print("a job fails; filter the jobs page by status and configuration and find it")
    failed = api("POST", "/v1/jobs", {"component": "loader", "config": "orders"})["id"]
    for _ in range(2):
        api("POST", "/v1/jobs", {"component": "ok", "config": "load"})
    wait_api(lambda: job_status(failed) == "error", f"job {failed} to fail")
    driver.find_element(By.ID, "nav-jobs").click()
    wait.until(lambda d: "/console/jobs" in d.current_url)
    check(tab_count("error") >= 2, "the error tab counts the failed jobs (the console test's run failed too)")
    driver.find_element(By.ID, "f-config").send_keys("orders")
    driver.find_element(By.ID, "filter").click()
    wait.until(lambda d: "config=orders" in d.current_url)
    driver.find_element(By.ID, "tab-error").click()
    wait.until(lambda d: "status=error" in d.current_url)
    rows = driver.find_elements(By.CSS_SELECTOR, "#jobs tbody tr")
    check(len(rows) == 1 and rows[0].text.startswith(failed), f"one failed job of orders: {[r.text for r in rows]}")
    check("table orders is missing" in rows[0].text, f"the row shows the failure message: {rows[0].text!r}")
    check(tab_count("error") == 1 and tab_count("success") == 0, "tabs count within the filter")
    shot("08-jobs")

    print("open it and read why it failed")
    driver.find_element(By.LINK_TEXT, failed).click()
    wait.until(lambda d: d.current_url.endswith(f"/console/jobs/{failed}"))
    message = driver.find_element(By.ID, "result-message").text
    check("failed with exit 3" in message and "table orders is missing" in message, f"the result's message: {message!r}")
    check(driver.find_element(By.ID, "exit-code").text == "3", "the exit code")
    check("ERROR: table orders is missing" in driver.find_element(By.CSS_SELECTOR, ".last-lines").text, "the last lines")
    stderr = driver.find_elements(By.CSS_SELECTOR, "#log .line.stderr")
    check(len(stderr) == 1 and "stderr" in stderr[0].text, "the stderr line is marked")
    facts = driver.find_element(By.ID, "facts").text
    check("Worker" in facts and "Attempt" in facts and "Queued" in facts and "browser test" in facts, f"worker, attempt, queue time, token: {facts!r}")
    created = driver.find_element(By.CSS_SELECTOR, "#facts time")
    check(created.get_attribute("title").endswith("Z (UTC)"), "UTC on hover")
    shot("09-job-failed-message")

    print("follow a running job's log past 500 lines, keeping the reader's place")
    chatty = api("POST", "/v1/jobs", {"component": "chatty", "config": "long-log"})["id"]
    wait_api(lambda: len(api("GET", f"/v1/jobs/{chatty}/events?limit=60")) >= 50, "the chatty job to say 50 lines")
    driver.get(a.base + f"/console/jobs/{chatty}")
    driver.execute_script("window.notReloaded = true")
    log = driver.find_element(By.ID, "log")
    lines = lambda: len(driver.find_elements(By.CSS_SELECTOR, "#log .line"))
    wait.until(lambda d: lines() >= 200)
    driver.execute_script("arguments[0].scrollTop = 120", log)
    kept = driver.execute_script("return arguments[0].scrollTop", log)
    before = lines()
    wait.until(lambda d: lines() >= before + 100)
    now = driver.execute_script("return arguments[0].scrollTop", log)
    check(abs(now - kept) <= 2, f"the scroll position moved from {kept} to {now} while lines arrived")
    wait.until(lambda d: lines() > 520)
    check(driver.execute_script("return window.notReloaded === true"), "the page reloaded")
    check(driver.find_element(By.ID, "log-count").text.startswith(f"{lines()} of "), "the count follows")
    check(len(driver.find_elements(By.CSS_SELECTOR, "#log .line.stderr")) >= 4, "stderr lines are marked")
    driver.execute_script("arguments[0].scrollTop = arguments[0].scrollHeight", log)
    shot("10-log-follow")
    wait.until(lambda d: d.find_elements(By.ID, "finished"))
    driver.get(a.base + f"/console/jobs/{chatty}")
    check(lines() == 500, f"a finished job shows its last 500 lines first: {lines()}")
    driver.find_element(By.ID, "load-earlier").click()
    wait.until(lambda d: lines() > 500)
    check(any("line 1 of the long log" in s.text for s in driver.find_elements(By.CSS_SELECTOR, "#log .line")[:5]), "load earlier reaches the first line")
    driver.find_element(By.ID, "log-search").send_keys("line 77 ")
    check(len([s for s in driver.find_elements(By.CSS_SELECTOR, "#log .line") if s.is_displayed()]) == 1, "search filters the lines")

    print("pause a configuration: its jobs wait with reason paused; resume: they run")
    driver.get(a.base + "/console/jobs?component=ok&config=pausable")
    driver.find_element(By.CSS_SELECTOR, "button.pause").click()
    confirm()
    wait.until(lambda d: "Paused: configuration default/ok/pausable" in d.page_source)
    check(driver.find_element(By.CSS_SELECTOR, "button.resume").text == "Resume configuration ok/pausable", "the jobs page offers the resume")
    driver.get(a.base + "/console/fleet")
    check("configuration default/ok/pausable" in driver.find_element(By.ID, "pauses").text, "the pause is listed")
    held = [api("POST", "/v1/jobs", {"component": "ok", "config": "pausable"})["id"] for _ in range(3)]
    driver.get(a.base + "/console/jobs?component=ok&config=pausable&status=waiting")
    rows = driver.find_elements(By.CSS_SELECTOR, "#jobs tbody tr")
    check(len(rows) == 3 and all("paused" in r.find_element(By.CSS_SELECTOR, ".reason").text for r in rows),
          f"three jobs wait with reason paused: {[r.text for r in rows]}")
    time.sleep(1.5)
    check(all(job_status(j) == "waiting" for j in held), "paused jobs stay waiting while a worker is free")
    shot("11-paused")
    driver.get(a.base + "/console/fleet")
    check("paused" in driver.find_element(By.ID, "waiting").text, "the fleet page says why they wait")
    driver.find_element(By.CSS_SELECTOR, "#pauses button.resume").click()
    wait.until(lambda d: "Nothing is paused" in d.page_source)
    wait_api(lambda: all(job_status(j) == "success" for j in held), "the resumed jobs to run")

    print("bulk-kill 50 waiting jobs by filter; meanwhile the fleet page")
    api("PUT", "/v1/pauses", {"component": "ok", "config": "bulk"})
    bulk = [api("POST", "/v1/jobs", {"component": "ok", "config": "bulk"})["id"] for _ in range(50)]
    print("  the fleet page lists the running workers, the active coordinator and why the 50 wait")
    driver.get(a.base + "/console/fleet")
    workers = driver.find_elements(By.CSS_SELECTOR, "#workers tbody tr.alive")
    check(len(workers) >= 1 and "/ 4" in workers[0].text, f"a live worker with 4 slots: {[w.text for w in workers]}")
    coordinators = driver.find_element(By.ID, "coordinators").text
    check("active" in coordinators and "coordinator-" in coordinators, f"the active coordinator: {coordinators!r}")
    check("of 10" in driver.find_element(By.ID, "limit-use").text, "the project's limit in use")
    waiting = driver.find_element(By.ID, "waiting").text
    check("paused" in waiting and "ok / bulk 50" in waiting, f"50 jobs of ok/bulk wait, paused: {waiting!r}")
    check("50" in driver.find_element(By.ID, "queue").text, "the queue counts them by component")
    shot("13-fleet")
    driver.get(a.base + "/console/jobs?config=bulk&status=waiting")
    check(tab_count("waiting") == 50, "50 jobs wait")
    kill = driver.find_element(By.ID, "kill-matching")
    check("Kill 50 matching" in kill.text, f"the bulk button: {kill.text!r}")
    shot("12-bulk-kill")
    kill.click()
    confirm()
    wait.until(lambda d: d.find_elements(By.ID, "notice"))
    check(driver.find_element(By.ID, "notice").text == "Killed 50 jobs.", driver.find_element(By.ID, "notice").text)
    check(tab_count("cancelled") == 50 and tab_count("waiting") == 0, "all 50 cancelled")
    check(all(job_status(j) == "cancelled" for j in bulk[:3] + bulk[-3:]), "the API agrees")
    api("DELETE", "/v1/pauses?component=ok&config=bulk")

    print("a schedule: disable, enable, run now")
    driver.get(a.base + "/console/orchestrations/daily")
    driver.find_element(By.ID, "schedule-new-year-disable").click()
    wait.until(lambda d: d.find_elements(By.ID, "schedule-new-year-enable"))
    check("disabled" in driver.find_element(By.XPATH, "//td[text()='new-year']/..").text, "the disabled schedule has no next run")
    driver.find_element(By.ID, "schedule-new-year-enable").click()
    wait.until(lambda d: d.find_elements(By.ID, "schedule-new-year-disable"))
    driver.find_element(By.ID, "schedule-new-year-run").click()
    confirm()
    wait.until(lambda d: "/console/jobs/" in d.current_url)
    check("keboola.orchestrator / daily" in driver.find_element(By.CSS_SELECTOR, "p.summary").text, "run now started a run of daily")

    print("dark mode follows the system")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    driver.get(a.base + "/console/jobs")
    background = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    check(background == "rgb(13, 17, 23)", f"dark background: {background}")
    shot("14-jobs-dark")
    print("operations test passed")
finally:
    driver.quit()
