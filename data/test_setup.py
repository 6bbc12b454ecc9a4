"""make setup is idempotent and repairs what is corrupt (run by `make test`, after `make setup`).

Stdlib only: runs data/setup.py as a user would and checks what it did.
"""

import os
import subprocess
import sys
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETUP = [sys.executable, os.path.join(ROOT, "data", "setup.py")]


def run(*args):
    result = subprocess.run([*SETUP, *args], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"setup.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class SetupTest(unittest.TestCase):
    def test_second_run_does_nothing(self):
        run()
        started = time.time()
        out = run()
        elapsed = time.time() - started
        self.assertNotIn("downloading", out)
        self.assertNotIn("exporting", out)
        self.assertNotIn("building", out)
        self.assertNotIn("creating", out)
        print(f"\nno-op make setup: {elapsed:.2f} s", file=sys.stderr)

    def test_corrupt_dataset_file_is_rebuilt(self):
        path = os.path.join(ROOT, "data", "datasets", "cifar10-fixture", "test_batch.bin")
        with open(path, "rb") as f:
            original = f.read()
        with open(path, "r+b") as f:
            f.write(b"\xff\xff\xff")
        out = run("datasets")
        self.assertIn("cifar10-fixture: sha256", out)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), original)

    def test_corrupt_download_is_fetched_again(self):
        downloads = os.path.join(ROOT, "data", "downloads")
        deb = next(n for n in os.listdir(downloads) if n.startswith("dataset-fashion-mnist_"))
        path = os.path.join(downloads, deb)
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.truncate(size // 2)  # as a download cut off halfway
        out = run("datasets")
        self.assertIn("downloading", out)
        self.assertEqual(os.path.getsize(path), size)

    def test_corrupt_model_is_exported_again(self):
        path = os.path.join(ROOT, "data", "models", "minilm_l6_v2.tokenizer.json")
        with open(path, "a") as f:
            f.write(" ")
        run("models")
        out = run("models")
        self.assertNotIn("sha256", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
