#!/usr/bin/env python3
"""A compliant gaining carrier for `lnpsim serve`, in Python's standard library only.

It plays the carrier whose token it is given through every port the story asks it to submit:
Cat A (SNA, then the ECA at the customer's preferred cutover) and Cat C (a PNV when the story
asks for one, the CNA, then the CCA at the agreed time once the CNA is confirmed). With the
admin's token it also drives the manual clock, event by event, until the story is over, then
prints the live audit's summary and exits 0 when there is no finding (1 otherwise).

    lnpsim serve scenarios/serve/cat-a.toml --external 9002 --tokens /tmp/lnp-tokens.toml
    python3 examples/serve-client/gaining.py --url http://127.0.0.1:8540 \
        --carrier 9002 --token bravo-example-token-0002 --admin-token admin-example-token-0001
"""

import argparse
import json
import sys
import urllib.error
import urllib.request
from datetime import datetime


def at(instant):
    """An RFC 3339 instant, comparable across offsets (AEDT and AEST)."""
    return datetime.fromisoformat(instant)


class Api:
    def __init__(self, url, token, admin_token):
        self.url = url.rstrip("/")
        self.token = token
        self.admin_token = admin_token

    def call(self, method, path, body=None, admin=False):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + (self.admin_token if admin else self.token))
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read().decode())
        except urllib.error.HTTPError as e:
            raise SystemExit(f"{method} {path}: {e.code} {e.read().decode()}")

    def send(self, message):
        return self.call("POST", "/v1/messages", message)["seq"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--carrier", required=True, help="the carrier code this system plays")
    p.add_argument("--token", required=True, help="the carrier's token")
    p.add_argument("--admin-token", required=True, help="the admin's token (drives the manual clock)")
    p.add_argument("--max-steps", type=int, default=100000)
    args = p.parse_args()
    api = Api(args.url, args.token, args.admin_token)
    me = args.carrier

    ports = {}        # ref -> the task, and where the port stands
    due = []          # (instant, message) to send at that instant
    seen_task = 0
    seen_row = 0
    for _ in range(args.max_steps):
        now = api.call("GET", "/v1/clock")["now"]
        # What the story asks of us.
        tasks = api.call("GET", f"/v1/tasks?after={seen_task}")
        seen_task = tasks["next"]
        for t in tasks["tasks"]:
            if t["task"] != "submit":
                continue
            ports[t["ref"]] = {"task": t, "done": False}
            base = {"from": me, "to": t["losing"], "ref": t["ref"], "category": t["category"], "numbers": t["numbers"]}
            who = {"account": t["account"], "ca_date": t["ca_date"], "customer": t["customer"]}
            if t["category"] in ("A", "D"):
                api.send(dict(base, msg="SNA", detail=dict(who, cutover=t["cutover"])))
            elif t["pnv"]:
                api.send(dict(base, msg="PNV", detail=who))
            else:
                api.send(dict(base, msg="CNA", detail=dict(who, cutover=t["cutover"], pm=f"{me} porting PM")))
        # What the other carriers sent us.
        page = api.call("GET", f"/v1/messages?after={seen_row}")
        seen_row = page["next"]
        for m in page["messages"]:
            port = ports.get(m["ref"])
            if port is None or m["to"] != me:
                continue
            t = port["task"]
            base = {"from": me, "to": t["losing"], "ref": t["ref"], "category": t["category"], "numbers": t["numbers"]}
            kind = m["msg"]
            if kind == "SNA_CONFIRM":
                # The ECA at the customer's preferred cutover.
                due.append((t["cutover"], dict(base, msg="ECA")))
            elif kind == "PNV_RESPONSE":
                who = {"account": t["account"], "ca_date": t["ca_date"], "customer": t["customer"]}
                api.send(dict(base, msg="CNA", detail=dict(who, cutover=t["cutover"], pm=f"{me} porting PM")))
            elif kind == "CNA_CONFIRM":
                api.send(dict(base, msg="CCA", detail={"cutover": t["cutover"]}))
            elif kind in ("COMPLETION", "CCA_CONFIRM"):
                port["done"] = True
            elif kind.endswith("_REJECT"):
                print(f"{t['ref']}: {kind} {m['code']}", file=sys.stderr)
                port["done"] = True
        # Send what falls due now.
        for when, message in [d for d in due if at(d[0]) <= at(now)]:
            api.send(message)
            due.remove((when, message))
        # Move the clock to the next thing anyone has to do.
        clock = api.call("GET", "/v1/clock")
        next_times = [t for t in [clock["next_event"]] + [d[0] for d in due] if t is not None]
        if not next_times:
            if all(p["done"] for p in ports.values()) and ports:
                break
            if not ports:
                raise SystemExit("the story is over and asked nothing of this carrier")
            break
        target = min(next_times, key=at)
        if at(target) < at(clock["now"]):
            target = clock["now"]
        api.call("POST", "/v1/clock/advance", {"to": target}, admin=True)
    report = api.call("GET", "/v1/findings")
    for f in report["findings"]:
        print(f"{f['rule']}: {f['message']}")
    done = sum(1 for p in ports.values() if p["done"])
    print(f"{done} of {len(ports)} ports done; {report['summary']['violations']} findings")
    return 0 if not report["findings"] and done == len(ports) else 1


if __name__ == "__main__":
    sys.exit(main())
