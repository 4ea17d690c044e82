"""Executes a notebook in a real Jupyter kernel through jupyter_client, as Jupyter's front ends do, and records what
the kernel sent: every iopub message per cell (type, display_id, mime types) and the executed notebook with
update_display_data applied to the output with the same display_id. Also lists the kernel process's listening TCP
sockets. Used by RealKernelTests; run with Debian's python3 (python3-jupyter-client, python3-nbformat).

usage: jupyter_driver.py KERNEL_NAME NOTEBOOK CWD EXECUTED_OUT LOG_OUT [CELL_TIMEOUT_S]
"""
import json, os, queue, sys, time
import jupyter_client, nbformat

kernel_name, nb_path, cwd, out_path, log_path = sys.argv[1:6]
cell_timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 600

nb = nbformat.read(nb_path, as_version=4)
km = jupyter_client.KernelManager(kernel_name=kernel_name)
km.start_kernel(cwd=cwd)
kc = km.client()
kc.start_channels()
log = {"cells": [], "listening": [], "kernel_alive_at_end": None}


def listening_sockets(pid):
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return []
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
        outputs, messages, by_id = [], [], {}
        deadline = time.time() + cell_timeout
        while True:
            try:
                msg = kc.get_iopub_msg(timeout=max(1, deadline - time.time()))
            except queue.Empty:
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
        cell.outputs = outputs
        log["cells"].append({"index": index, "source": cell.source, "messages": messages})
        if not log["listening"]:
            log["listening"] = listening_sockets(kernel_pid())
        if any(m["type"] in ("error", "timeout") for m in messages):
            break
    log["kernel_alive_at_end"] = km.is_alive()
finally:
    nbformat.write(nb, out_path)
    with open(log_path, "w") as f:
        json.dump(log, f, indent=1)
    kc.stop_channels()
    km.shutdown_kernel(now=True)
