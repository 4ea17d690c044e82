"""Executes a notebook in a real Jupyter kernel through jupyter_client, as Jupyter's front ends do, and records what
the kernel sent: every iopub message per cell (type, display_id, mime types) and the executed notebook with
update_display_data applied to the output with the same display_id. Also lists the kernel process's listening TCP
sockets (the launcher's and its children's). Can interrupt cells as Jupyter's stop button does (km.interrupt_kernel)
a given time after they start, then goes on with the next cells. Used by RealKernelTests; run with Debian's python3
(python3-jupyter-client, python3-nbformat).

usage: jupyter_driver.py KERNEL_NAME NOTEBOOK CWD EXECUTED_OUT LOG_OUT [CELL_TIMEOUT_S [INTERRUPTS_JSON]]
  INTERRUPTS_JSON: {"text in a cell's source": [seconds after the cell starts, ...], ...}
"""
import json, os, queue, sys, time
import jupyter_client, nbformat

kernel_name, nb_path, cwd, out_path, log_path = sys.argv[1:6]
cell_timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 600
interrupts = json.loads(sys.argv[7]) if len(sys.argv) > 7 else {}

nb = nbformat.read(nb_path, as_version=4)
km = jupyter_client.KernelManager(kernel_name=kernel_name)
km.start_kernel(cwd=cwd)
kc = km.client()
kc.start_channels()
log = {"cells": [], "listening": [], "kernel_alive_at_end": None}


def process_tree(pid):
    """pid and its descendants (the launcher and the kernel it started)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def listening_sockets(pid):
    inodes = set()
    for p in process_tree(pid):
        try:
            for fd in os.listdir(f"/proc/{p}/fd"):
                try:
                    target = os.readlink(f"/proc/{p}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and parts[9] in inodes:  # LISTEN
                addr, port = parts[1].split(":")
                found.append({"table": os.path.basename(table), "address": addr, "port": int(port, 16)})
    return found


def kernel_pid():
    for attr in ("provisioner",):
        p = getattr(km, attr, None)
        if p is not None and getattr(p, "process", None) is not None:
            return p.process.pid
    return km.kernel.pid


try:
    kc.wait_for_ready(timeout=180)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        msg_id = kc.execute(cell.source)
        started = time.time()
        outputs, messages, by_id, record = [], [], {}, {"index": index, "source": cell.source}
        deadline = started + cell_timeout
        pending = sorted(started + float(t) for marker, times in interrupts.items() if marker in cell.source for t in times)
        while True:
            now = time.time()
            if pending and now >= pending[0]:
                pending.pop(0)
                km.interrupt_kernel()
                record.setdefault("interrupted_at_s", round(now - started, 3))
            wake = min(deadline, pending[0]) if pending else deadline
            try:
                msg = kc.get_iopub_msg(timeout=min(2, max(0.05, wake - time.time())))
            except queue.Empty:
                if not km.is_alive():
                    messages.append({"type": "kernel died"})
                    break
                if time.time() < deadline:
                    continue
                messages.append({"type": "timeout"})
                break
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            t, c = msg["msg_type"], msg["content"]
            entry = {"type": t}
            if t in ("display_data", "update_display_data", "execute_result"):
                entry["display_id"] = c.get("transient", {}).get("display_id")
                entry["mime"] = sorted(c.get("data", {}).keys())
                entry["html_start"] = str(c.get("data", {}).get("text/html", ""))[:120]
            if t == "error":
                entry["ename"], entry["evalue"] = c.get("ename"), c.get("evalue")
            if t == "stream":
                entry["name"], entry["text"] = c["name"], c["text"][:2000]
            messages.append(entry)
            if t == "status" and c["execution_state"] == "idle":
                if "interrupted_at_s" in record:
                    record["idle_after_interrupt_s"] = round(time.time() - started - record["interrupted_at_s"], 3)
                break
            if t == "stream":
                outputs.append(nbformat.v4.new_output("stream", name=c["name"], text=c["text"]))
            elif t == "display_data":
                o = nbformat.v4.new_output("display_data", data=c["data"], metadata=c.get("metadata", {}))
                outputs.append(o)
                did = c.get("transient", {}).get("display_id")
                if did:
                    by_id[did] = o
            elif t == "update_display_data":
                did = c.get("transient", {}).get("display_id")
                if did in by_id:
                    by_id[did]["data"] = c["data"]
            elif t == "execute_result":
                outputs.append(nbformat.v4.new_output("execute_result", data=c["data"], metadata=c.get("metadata", {}), execution_count=c.get("execution_count")))
            elif t == "error":
                outputs.append(nbformat.v4.new_output("error", ename=c["ename"], evalue=c["evalue"], traceback=c.get("traceback", [])))
        record["elapsed_s"] = round(time.time() - started, 3)
        record["messages"] = messages
        cell.outputs = outputs
        log["cells"].append(record)
        if not log["listening"]:
            log["listening"] = listening_sockets(kernel_pid())
        if any(m["type"] in ("timeout", "kernel died") for m in messages) or not km.is_alive():
            break
        if any(m["type"] == "error" for m in messages) and "interrupted_at_s" not in record:
            break
    log["kernel_alive_at_end"] = km.is_alive()
finally:
    nbformat.write(nb, out_path)
    with open(log_path, "w") as f:
        json.dump(log, f, indent=1)
    kc.stop_channels()
    km.shutdown_kernel(now=True)
