"""The lab simulator — a test component, not a laboratory system.

Plays a lab (LIS) or a radiology system (RIS) on the other end of Kärna's HL7 v2 channel: builds ORU^R01
results with hl7apy (PyPI) and sends them over MLLP on a real TCP socket, whole, split across writes, or several
frames in one write; reads each ACK back with hl7apy. The e2e suite imports it; by hand it sends one result:

    python3 Tests/Support/lab_simulator.py --port 2575 --placer 11545596-0175 --pnr 199001012384 --value 4,2
"""
import argparse
import socket
import sys
import threading
import time

from hl7apy.core import Message
from hl7apy.mllp import AbstractErrorHandler, AbstractHandler, MLLPServer
from hl7apy.parser import parse_message

START, END = b"\x0b", b"\x1c\r"


def oru(control, placer, pnr="198002142381", analyses=(("NM", "K^Kalium^L", "4.2", "mmol/L", "3.5-4.6", "", "F"),),
        application="KEMLAB", charset="UNICODE UTF-8", filler="", report_notes=()):
    """An ORU^R01 as ER7 text: one patient, one order (ORC/OBR), an OBX per analysis
    (type, code, value, unit, range, flag, status) and NTE comments under the OBR."""
    message = Message("ORU_R01", version="2.5")
    message.msh.msh_3 = application
    message.msh.msh_4 = "KLINKEM"
    message.msh.msh_5 = "KARNA"
    message.msh.msh_6 = "REGION"
    message.msh.msh_9 = "ORU^R01^ORU_R01"
    message.msh.msh_10 = control
    message.msh.msh_11 = "P"
    if charset:
        message.msh.msh_18 = charset
    result = message.add_group("ORU_R01_PATIENT_RESULT")
    patient = result.add_group("ORU_R01_PATIENT")
    patient.pid.pid_3 = f"{pnr}^^^^PNR"
    patient.pid.pid_5 = "Ek^Test"
    order = result.add_group("ORU_R01_ORDER_OBSERVATION")
    order.orc.orc_1 = "RE"
    order.orc.orc_2 = placer
    if filler:
        order.orc.orc_3 = filler
    order.obr.obr_1 = "1"
    order.obr.obr_2 = placer
    order.obr.obr_4 = analyses[0][1]
    for text in report_notes:
        order.add_segment("NTE").nte_3 = text
    for index, (kind, code, value, unit, reference, flag, status) in enumerate(analyses, start=1):
        observation = order.add_group("ORU_R01_OBSERVATION")
        observation.obx.obx_1 = str(index)
        observation.obx.obx_2 = kind
        observation.obx.obx_3 = code
        if value:
            observation.obx.obx_5 = value
        if unit:
            observation.obx.obx_6 = unit
        if reference:
            observation.obx.obx_7 = reference
        if flag:
            observation.obx.obx_8 = flag
        observation.obx.obx_11 = status
    message.validate()
    return message.to_er7()


def encode(text, charset="UNICODE UTF-8"):
    return text.encode("latin-1" if charset in ("8859/1", "") else "utf-8")


def frame(payload):
    return START + payload + END


def read_acks(sock, count, timeout=20):
    """Reads `count` MLLP frames and parses each as an ACK with hl7apy: [(MSA-1, MSA-2, ERR-2, ERR-8)]."""
    sock.settimeout(timeout)
    buffer, acks = b"", []
    while len(acks) < count:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"Kärna closed the connection after {len(acks)} of {count} ACKs")
        buffer += chunk
        while START in buffer and END in buffer:
            start = buffer.index(START)
            end = buffer.index(END, start)
            text = buffer[start + 1:end].decode("utf-8", errors="replace")
            buffer = buffer[end + 2:]
            ack = parse_message(text.replace("\n", "\r"), find_groups=False)
            err = [s for s in ack.children if s.name == "ERR"]
            acks.append((ack.msa.msa_1.value, ack.msa.msa_2.value,
                         err[0].err_2.value if err else "", err[0].err_8.value if err else ""))
    return acks


def send(port, payloads, mode="whole", chunk=7, delay=0.02, host="127.0.0.1", read=True, tls=None):
    """Sends each payload (bytes) framed: `whole` one write each, `split` in `chunk`-byte writes with a pause,
    `together` all frames in one write. Answers the ACKs in order (none when `read` is False: the sender
    that never hears back). With `tls` (an ssl.SSLContext) the connection is MLLP over TLS."""
    with socket.create_connection((host, port), timeout=10) as plain:
        sock = tls.wrap_socket(plain, server_hostname="localhost") if tls else plain
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        frames = [frame(p) for p in payloads]
        if mode == "together":
            sock.sendall(b"".join(frames))
        else:
            for framed in frames:
                if mode == "split":
                    for i in range(0, len(framed), chunk):
                        sock.sendall(framed[i:i + chunk])
                        time.sleep(delay)
                else:
                    sock.sendall(framed)
        return read_acks(sock, len(frames)) if read else []


class Lab:
    """The lab's order port: an hl7apy MLLPServer that takes OML^O21 and ORM^O01 and answers as `answer` says —
    AA, AE or AR (with an ERR naming why), `silent` (no answer: the connection is held, then closed) or
    `wrong-ack` (an ACK for another message). With `results_to` (Kärna's MLLP port) each accepted order is
    answered with a result a moment later, as a lab does once the sample is analysed. With `tls` (a server-side
    ssl.SSLContext) the order port speaks MLLP over TLS only. A cancellation (ORC-1 CA)
    is taken (AA) for an order the lab has and has not answered, and refused (AR, with why) otherwise; a cancelled
    order gets no result."""

    ORDER_TYPES = ("OML^O21^OML_O21", "OML^O21", "ORM^O01^ORM_O01", "ORM^O01")

    def __init__(self, port=0, answer="AA", results_to=None, value="4,2", tls=None):
        self.orders = []
        self.known = set()
        self.cancelled = set()
        self.answered = set()
        self.answer = answer
        self.results_to = results_to
        self.send_results = True
        self.value = value
        lab = self

        class Order(AbstractHandler):
            def reply(self):
                return lab.reply(self.incoming_message)

        class Refuse(AbstractErrorHandler):
            def reply(self):
                return lab.ack(self.incoming_message, "AR", f"not an order this lab takes: {self.exc}")

        handlers = {kind: (Order,) for kind in self.ORDER_TYPES}
        handlers["ERR"] = (Refuse,)
        self.server = MLLPServer("127.0.0.1", port, handlers, timeout=30)
        self.port = self.server.server_address[1]
        if tls:
            # MLLP over TLS: every connection is a TLS connection (tls is a server-side ssl.SSLContext).
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ack(self, incoming, code, text="", control=None):
        order = parse_message(incoming.replace("\n", "\r"), find_groups=False)
        ack = Message("ACK", version="2.5")
        ack.msh.msh_3 = order.msh.msh_5.value or "LAB"
        ack.msh.msh_5 = order.msh.msh_3.value
        ack.msh.msh_9 = "ACK^O21^ACK"
        ack.msh.msh_10 = "LABACK" + str(len(self.orders))
        ack.msh.msh_11 = "P"
        ack.msa.msa_1 = code
        ack.msa.msa_2 = control or order.msh.msh_10.value
        if text:
            err = ack.add_segment("ERR")
            err.err_3 = "207^Application internal error^HL70357"
            err.err_4 = "E"
            err.err_8 = text
        return ack.to_mllp()

    def reply(self, incoming):
        order = parse_message(incoming.replace("\n", "\r"), find_groups=False)
        self.orders.append(order)
        if self.answer == "silent":
            time.sleep(3)
            raise ConnectionAbortedError("the lab simulator does not answer")
        if self.answer == "wrong-ack":
            return self.ack(incoming, "AA", control="SOMETHING-ELSE")
        if self.answer in ("AE", "AR"):
            return self.ack(incoming, self.answer, "Remissen saknar provtagningstid")
        placer = order.orc.orc_2.value
        if order.orc.orc_1.value == "CA":
            if placer not in self.known:
                return self.ack(incoming, "AR", f"Okänd beställning {placer}")
            if placer in self.answered:
                return self.ack(incoming, "AR", "Provet är redan analyserat")
            self.cancelled.add(placer)
            return self.ack(incoming, "AA")
        self.known.add(placer)
        if self.results_to and self.send_results:
            pnr = order.pid.pid_3.value.split("^")[0]
            code = order.obr.obr_4.value.split("^")[0]
            def answer_later():
                # As a lab's interface engine does: resend until Kärna ACKs (it may be restarting).
                message = encode(oru("RES-" + placer, placer, pnr=pnr,
                                     analyses=(("NM", "K^Kalium^L" if code == "NPU03230" else code, self.value, "mmol/L", "3.5-4.6", "", "F"),)))
                for attempt in range(10):
                    time.sleep(0.5 * (attempt + 1))
                    if placer in self.cancelled:
                        return
                    self.answered.add(placer)
                    try:
                        send(self.results_to, [message])
                        return
                    except OSError:
                        continue
            threading.Thread(target=answer_later, daemon=True).start()
        return self.ack(incoming, "AA")

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def main():
    parser = argparse.ArgumentParser(description="Lab simulator (a test component): sends one ORU^R01 over MLLP to Kärna.")
    parser.add_argument("--port", type=int, default=2575, help="Kärna's MLLP port (results go there)")
    parser.add_argument("--listen", type=int, help="take orders on this port (2576 in the demo channels) and answer each with a result")
    parser.add_argument("--placer", help="the order's placer number (beställningsnummer), to send one result")
    parser.add_argument("--pnr", default="198002142381")
    parser.add_argument("--value", default="4.2")
    parser.add_argument("--control", default=f"SIM{int(time.time())}")
    args = parser.parse_args()
    if args.listen:
        lab = Lab(port=args.listen, results_to=args.port, value=args.value)
        print(f"Lab simulator (testkomponent, inte ett laboratoriesystem) tar emot beställningar på {lab.port}", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            lab.stop()
        return 0
    if not args.placer:
        parser.error("give --placer to send a result, or --listen to take orders")
    text = oru(args.control, args.placer, pnr=args.pnr,
               analyses=(("NM", "K^Kalium^L", args.value, "mmol/L", "3.5-4.6", "", "F"),))
    print("Lab simulator (testkomponent, inte ett laboratoriesystem):", send(args.port, [encode(text)]))


if __name__ == "__main__":
    sys.exit(main())
