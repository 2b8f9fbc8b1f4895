#!/usr/bin/env python3
"""Translations of the plug-in (gettext domain gimp-cam):

- every translatable string of the sources (a fresh xgettext run over po/POTFILES.in)
  has a German and a French translation, not fuzzy (msgcmp), including the bundled
  models' class names;
- inside GIMP with LANG=de_DE.UTF-8 / fr_FR.UTF-8 the plug-in finds its catalogs in
  <plug-in folder>/locale: the layer name, the error messages and the layer group of
  the "compare" output (issue 15) are translated, and so are the engine's method
  display names and summaries (issue 13: a Method list entry and its tooltip, a
  layer name, the error of CAM on a model without the CAM structure),
  while the returned label stays canonical.
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gimptest  # noqa: E402
from gimptest import check  # noqa: E402

SRC = gimptest.SOURCE_DIR
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
          "Bag", "Ankle boot", "airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
          "horse", "ship", "truck"]

if not shutil.which("xgettext") or not shutil.which("msgcmp"):
    gimptest.skip("gettext tools (xgettext, msgcmp) not found")

work = os.path.join(gimptest.BUILD_DIR, "tests", "plugin", "work")
os.makedirs(work, exist_ok=True)
pot = os.path.join(work, "fresh.pot")
files = [line.strip() for line in open(os.path.join(SRC, "po", "POTFILES.in"))
         if line.strip() and not line.startswith("#")]
subprocess.run(["xgettext", "--from-code=UTF-8", "--keyword=_", "--keyword=N_",
                "--keyword=C_:1c,2", "--keyword=NC_:1c,2", "--add-comments=TRANSLATORS:",
                "-o", pot] + files, cwd=SRC, check=True)
potext = open(pot, encoding="utf-8").read()
for label in LABELS:
    check(f'msgid "{label}"' in potext, f"class name {label!r} is in the catalog")
for lang in ("de", "fr"):
    p = subprocess.run(["msgcmp", os.path.join(SRC, "po", lang + ".po"), pot],
                       capture_output=True, text=True)
    check(p.returncode == 0, f"{lang}.po translates every message:\n{p.stderr[-3000:]}")

SCRIPT = r'''
import json, os
import gi
gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, Gio
work = os.environ["CAM_TEST_WORK"]
pdb = Gimp.get_pdb()
proc = pdb.lookup_procedure("plug-in-cam-heatmap")
img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(os.environ["CAM_TEST_SAMPLE"]))
src = img.get_layers()[0]
out = {}
for model in ("cifar10", "fashion-mnist"):
    cfg = proc.create_config()
    cfg.set_property("image", img)
    cfg.set_core_object_array("drawables", [src])
    cfg.set_property("model", model)
    res = proc.run(cfg)
    out[model] = [int(res.index(0)), res.index(2), res.index(4).get_name()]
cfg = proc.create_config()
cfg.set_property("image", img)
cfg.set_core_object_array("drawables", [src])
cfg.set_property("class", 77)
res = proc.run(cfg)
out["error"] = pdb.get_last_error()
cfg = proc.create_config()
cfg.set_property("image", img)
cfg.set_core_object_array("drawables", [src])
cfg.set_property("model", "cifar10")
cfg.set_property("output", "compare")
cfg.set_property("top-k", 2)
res = proc.run(cfg)
out["compare"] = res.index(4).get_name() if int(res.index(0)) == int(Gimp.PDBStatusType.SUCCESS) else pdb.get_last_error()
# issue 13: a method's display name (the layer name), its tooltip (the choice's help)
# and the error of a method that cannot explain the model come from the engine's
# table, translated by the plug-in
cfg = proc.create_config()
cfg.set_property("image", img)
cfg.set_core_object_array("drawables", [src])
cfg.set_property("model", "fashion-mnist")
cfg.set_property("method", "random")
res = proc.run(cfg)
out["random"] = res.index(4).get_name() if int(res.index(0)) == int(Gimp.PDBStatusType.SUCCESS) else pdb.get_last_error()
methods = pdb.lookup_procedure("plug-in-cam-methods")
res = methods.run(methods.create_config())
names = list(res.index(1))
out["choice_random"] = [res.index(2)[names.index("random")], res.index(3)[names.index("random")]]
cfg = proc.create_config()
cfg.set_property("image", img)
cfg.set_core_object_array("drawables", [src])
cfg.set_property("model", "cifar10")
cfg.set_property("method", "cam")
res = proc.run(cfg)
out["cam_error"] = pdb.get_last_error()
json.dump(out, open(os.path.join(work, "results.json"), "w"))
'''

EXPECT = {
    "de_DE.UTF-8": {"error": "Klasse 77 gibt es nicht",
                    "compare": "Grad-CAM: die 2 wahrscheinlichsten Klassen",
                    "random": "Zufallsreferenz: ",
                    "choice_random": ["Zufallsreferenz", "Zufall: eine gleichverteilte Zufallskarte"],
                    "cam_error": "CAM kann das Modell „cifar10“ nicht erklären (CAM (Zhou et al. "
                                 "2016): die Klassengewichte der dichten Schicht"},
    "fr_FR.UTF-8": {"error": "La classe 77 n'existe pas",
                    "compare": "Grad-CAM : les 2 classes les plus probables",
                    "random": "Référence aléatoire : ",
                    "choice_random": ["Référence aléatoire", "Aléatoire : une carte aléatoire uniforme"],
                    "cam_error": "CAM ne peut pas expliquer le modèle « cifar10 » (CAM (Zhou et "
                                 "al. 2016) : les poids de la classe"},
}
DE = ["T-Shirt/Top", "Hose", "Pullover", "Kleid", "Mantel", "Sandale", "Hemd", "Turnschuh",
      "Tasche", "Stiefelette"]
FR = ["T-shirt/haut", "Pantalon", "Pull-over", "Robe", "Manteau", "Sandale", "Chemise",
      "Basket", "Sac", "Bottine"]
FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot"]

for lang, expect in EXPECT.items():
    gimp = gimptest.Gimp("i18n-" + lang[:2], lang=lang)
    script = os.path.join(gimp.work, "check.py")
    with open(script, "w") as f:
        f.write(SCRIPT)
    res = gimp.run_python(script)
    if not check(res is not None, f"{lang}: the GIMP script ran"):
        continue
    status, label, name = res["fashion-mnist"]
    check(status == 3 and label in FASHION, f"{lang}: canonical label returned ({label!r})")
    if label in FASHION:
        local = (DE if lang.startswith("de") else FR)[FASHION.index(label)]
        check(f" {local} " in name, f"{lang}: layer name {name!r} has the translated {local!r}")
    check(name.startswith("CAM") or name.startswith("Grad-CAM"), f"{lang}: method in {name!r}")
    check(name.endswith(" %"), f"{lang}: the translated format puts a space before % ({name!r})")
    check(expect["error"] in (res.get("error") or ""), f"{lang}: error message {res.get('error')!r}")
    check(res.get("compare") == expect["compare"],
          f"{lang}: the compare output's layer group is named {res.get('compare')!r}")
    check((res.get("random") or "").startswith(expect["random"]),
          f"{lang}: the random baseline's layer is named {res.get('random')!r}")
    label, tooltip = res.get("choice_random") or ["", ""]
    check(label == expect["choice_random"][0], f"{lang}: the method list shows {label!r}")
    check((tooltip or "").startswith(expect["choice_random"][1]),
          f"{lang}: the method's tooltip is {tooltip!r}")
    check(expect["cam_error"] in (res.get("cam_error") or ""),
          f"{lang}: CAM on cifar10: {res.get('cam_error')!r}")

gimptest.finish()
