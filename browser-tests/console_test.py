#!/usr/bin/env python3
"""The web console in a real headless Chromium (Selenium): log in, run an orchestration with one
task unchecked, watch it finish, open the job, retry it, check the retried tasks are exactly the
expected ones. Saves a screenshot of each page. Run by browser-tests/run."""

import argparse
import os
import re
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

p = argparse.ArgumentParser()
p.add_argument("--base", required=True)
p.add_argument("--token", required=True)
p.add_argument("--flag", required=True, help="file whose presence makes the transform task succeed")
p.add_argument("--shots", required=True, help="folder for screenshots")
a = p.parse_args()
os.makedirs(a.shots, exist_ok=True)

# The viewer's time zone, for the schedule's local time: Chromium takes it from TZ.
os.environ["TZ"] = "Asia/Tokyo"
options = webdriver.ChromeOptions()
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
    options.add_argument(arg)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(driver, 60, poll_frequency=0.2)


def shot(name):
    """Saves the whole page (up to 2,400 px tall), then goes back to the usual window."""
    path = os.path.join(a.shots, f"{name}.png")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(height, 1000), 2400))
    driver.save_screenshot(path)
    driver.set_window_size(1280, 1000)
    print(f"  screenshot {path}")


def check(condition, message):
    if not condition:
        shot("failure")
        raise AssertionError(message)


def boxes():
    return {b.get_attribute("value"): b.is_selected() for b in driver.find_elements(By.CSS_SELECTOR, "input[name=task]")}


def wait_final(job_path):
    driver.get(a.base + job_path)
    wait.until(lambda d: "http-equiv=\"refresh\"" not in d.page_source and "class=\"status " in d.page_source)
    driver.get(a.base + job_path)
    return driver.find_element(By.CSS_SELECTOR, "p .status").text


try:
    print("log in")
    driver.get(a.base + "/console")
    check("/console/login" in driver.current_url, f"not sent to the login page: {driver.current_url}")
    shot("01-login")
    driver.find_element(By.ID, "token").send_keys(a.token)
    driver.find_element(By.ID, "login").click()
    wait.until(lambda d: d.current_url.endswith("/console/orchestrations"))
    shot("02-orchestrations")

    print("open the orchestration and its run dialog")
    driver.find_element(By.LINK_TEXT, "Daily").click()
    check("Extract" in driver.page_source and "Report" in driver.page_source, "phases missing on the orchestration page")
    schedule = driver.find_element(By.XPATH, "//td[text()='new-year']/..").text
    check(re.search(r"-01-01 06:00 UTC \(.*\b(3:00\s?PM|15:00)\b.* your time\)", schedule),
          f"the schedule's next run in UTC and in the viewer's time (Tokyo, 15:00): {schedule!r}")
    shot("03-orchestration")
    driver.find_element(By.LINK_TEXT, "Run…").click()
    check(boxes() == {"load": True, "extra": True, "transform": True, "report": True}, f"run dialog: {boxes()}")
    driver.find_element(By.CSS_SELECTOR, "input[value=extra]").click()
    check(boxes()["extra"] is False, "could not uncheck extra")
    shot("04-run-dialog")
    driver.find_element(By.ID, "run").click()
    wait.until(lambda d: "/console/jobs/" in d.current_url)
    run_path = driver.current_url[len(a.base):]
    print(f"  run {run_path}")

    print("watch it finish")
    status = wait_final(run_path)
    check(status == "error", f"the first run should fail at transform, it ended {status}")
    source = driver.page_source
    check("not-executed" in source, "the Report phase should be not-executed")
    check(source.count("class=\"tl-bar") == 2, "the timeline should have a bar for load and transform")
    check("Extra" in source and "not selected" in source, "extra should show as not selected")
    shot("05-job-failed")

    print("retry")
    driver.find_element(By.ID, "retry").click()
    check(boxes() == {"load": False, "extra": False, "transform": True, "report": True}, f"retry pre-checks: {boxes()}")
    shot("06-retry-dialog")
    open(a.flag, "w").close()
    driver.find_element(By.ID, "retry-run").click()
    wait.until(lambda d: "/console/jobs/" in d.current_url and d.current_url[len(a.base):] != run_path)
    retry_path = driver.current_url[len(a.base):]
    status = wait_final(retry_path)
    check(status == "success", f"the retry should succeed, it ended {status}")
    source = driver.page_source
    previous = driver.find_element(By.XPATH, "//table[@id='facts']//th[text()='Retry of']/../td/a")
    check(previous.get_attribute("href").endswith(run_path), "the retry should link its previous job")
    bars = driver.find_elements(By.CSS_SELECTOR, ".tl-bar")
    check(len(bars) == 2 and all("success" in b.get_attribute("class") for b in bars), "the retry ran transform and report only")
    shot("07-job-retried")
    print("console test passed")
finally:
    driver.quit()
