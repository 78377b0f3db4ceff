"""A throwaway PACS for tests and the demo: Debian's Orthanc with its DICOMweb plugin, started on free ports in a
temporary folder, and DICOM test images from pydicom's test data given the accession number an order carries.

    python3 Tests/Support/pacs.py --port 8042 --accession 11545596-0175   # starts it, stores one study, waits
"""
import argparse
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ORTHANC = "/usr/sbin/Orthanc"
DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"


def available():
    return os.path.exists(ORTHANC) and os.path.exists(DICOMWEB_PLUGIN)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PACS:
    """Orthanc with DICOMweb on 127.0.0.1: `url` is its REST root, `dicomweb` the DICOMweb root Kärna is given."""

    def __init__(self, port=0):
        self.folder = tempfile.mkdtemp(prefix="karna-pacs-")
        self.port = port or free_port()
        config = {"Name": "KarnaTestPACS", "StorageDirectory": os.path.join(self.folder, "db"), "IndexDirectory": os.path.join(self.folder, "db"),
                  "HttpPort": self.port, "DicomServerEnabled": False, "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
                  "Plugins": [DICOMWEB_PLUGIN], "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True}}
        path = os.path.join(self.folder, "orthanc.json")
        with open(path, "w") as handle:
            json.dump(config, handle)
        self.log = open(os.path.join(self.folder, "orthanc.log"), "w")
        self.process = subprocess.Popen([ORTHANC, path], stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        self.dicomweb = self.url + "/dicom-web"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/system", timeout=1).read()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("Orthanc did not start; see " + self.log.name)

    def store(self, accession, description="Lungor"):
        """Stores pydicom's CT test image as a new study with `accession`; answers its StudyInstanceUID."""
        import pydicom
        from pydicom.data import get_testdata_file
        from pydicom.uid import generate_uid

        dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        dataset.AccessionNumber = accession
        dataset.StudyDescription = description
        dataset.StudyInstanceUID = generate_uid()
        dataset.SeriesInstanceUID = generate_uid()
        dataset.SOPInstanceUID = generate_uid()
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        buffer = io.BytesIO()
        dataset.save_as(buffer)
        request = urllib.request.Request(self.url + "/instances", data=buffer.getvalue(), headers={"Content-Type": "application/dicom"}, method="POST")
        urllib.request.urlopen(request, timeout=30).read()
        return dataset.StudyInstanceUID

    def qido(self, accession):
        """QIDO-RS as any DICOMweb client asks: the studies with this accession number (DICOM JSON)."""
        request = urllib.request.Request(f"{self.dicomweb}/studies?AccessionNumber={accession}", headers={"Accept": "application/dicom+json"})
        body = urllib.request.urlopen(request, timeout=10).read()
        return json.loads(body) if body else []

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description="A throwaway Orthanc PACS with DICOMweb (test and demo component).")
    parser.add_argument("--port", type=int, default=8042)
    parser.add_argument("--accession", action="append", default=[], help="store a test study with this accession number (repeatable)")
    args = parser.parse_args()
    if not available():
        sys.exit("Orthanc is missing: apt-get install orthanc orthanc-dicomweb")
    pacs = PACS(args.port)
    for accession in args.accession:
        print("stored study", pacs.store(accession), "with accession number", accession, flush=True)
    print(f"PACS (Orthanc, testkomponent) med DICOMweb på {pacs.dicomweb}: starta Kärna med --dicomweb-url {pacs.dicomweb}", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pacs.stop()


if __name__ == "__main__":
    main()
