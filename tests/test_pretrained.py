"""Pretrained weights: torchvision's files fetched through the hub cache from a local HTTP server
(no network here), checked by their SHA-256 prefix, loaded into the builders; torch.hub is the
oracle for the cache folder, the hash check and the values read."""
import hashlib
import http.server
import re
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
import torch

import tatamikomi as tm
from tatamikomi import hub
from tatamikomi.vision import models
from tatamikomi.vision.models import _weights as W


class Server:
    """A local HTTP server for one folder, counting the requests it serves."""

    def __init__(self, folder):
        self.hits = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **k):
                super().__init__(*a, directory=str(folder), **k)

            def do_GET(self):
                server.hits.append(self.path)
                super().do_GET()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path, monkeypatch):
    (tmp_path / "www").mkdir()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    server = Server(tmp_path / "www")
    yield server, tmp_path / "www"
    server.close()


def publish(www, stem, state):
    """state saved by torch as www/<stem>-<sha256 prefix>.pth; that file's name."""
    tmp = www / "tmp.pth"
    torch.save(state, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    name = f"{stem}-{digest[:8]}.pth"
    tmp.rename(www / name)
    return name


def torch_state(builder, rename=lambda k: k, **kw):
    """A state_dict for builder's model as torch tensors, values moved off the init."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = builder(**kw)
    g = torch.Generator().manual_seed(0)
    return {rename(k): torch.from_numpy(v.numpy().copy()) + (
        0.01 * torch.randn(v.shape, generator=g) if v.dtype.is_floating_point else 0)
        for k, v in model.state_dict().items()}


def point(monkeypatch, weights, url):
    monkeypatch.setattr(weights.value, "url", url)


def test_hub_imports_first_as_torch_hub_does():
    # hub before vision: vision's builders import hub, so hub must not need vision to load
    for code in ("import tatamikomi.hub as h; h.get_dir()", "import tatamikomi; tatamikomi.hub",
                 "from tatamikomi.hub import load_state_dict_from_url"):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def test_every_builder_has_torchvisions_weights_table():
    assert sorted(W.ENUMS) == models.list_models()
    for enum_cls in W.ENUMS.values():
        assert enum_cls.DEFAULT in list(enum_cls) and "IMAGENET1K_V1" in enum_cls.__members__
        for member in enum_cls:
            assert re.fullmatch(r"https://download\.pytorch\.org/models/[\w.-]+-[0-9a-f]{8,10}"
                                r"\.pth", member.url), member
    for name in ("squeezenet1_1", "mobilenet_v3_small", "shufflenet_v2_x0_5", "resnet18"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = models.get_model(name)
        count = sum(p.numel() for p in model.parameters())
        assert count == W.ENUMS[name].DEFAULT.meta["num_params"], name


def test_weights_download_once_into_torch_hubs_cache_and_load(served, monkeypatch):
    server, www = served
    state = torch_state(models.squeezenet1_1)
    name = publish(www, "squeezenet1_1", state)
    member = W.SqueezeNet1_1_Weights.IMAGENET1K_V1
    point(monkeypatch, member, server.url + name)
    for _ in range(2):
        model = W.build("squeezenet1_1", models.squeezenet1_1.__wrapped__, "IMAGENET1K_V1",
                        False, {})
        for k, v in model.state_dict().items():
            assert np.array_equal(v.numpy(), state[k].numpy()), k
    assert server.hits == [f"/{name}"]                     # the second build used the cache
    folder = torch.hub.get_dir() + "/checkpoints"          # torch's own idea of the cache
    assert hub.get_dir() == torch.hub.get_dir()
    assert sorted(p.name for p in (www.parent / "home/hub/checkpoints").iterdir()) == [name]
    assert str(www.parent / "home/hub/checkpoints") == folder
    theirs = torch.hub.load_state_dict_from_url(server.url + name, check_hash=True,
                                                weights_only=True)
    ours = hub.load_state_dict_from_url(server.url + name, check_hash=True)
    assert all(np.array_equal(ours[k].numpy(), theirs[k].numpy()) for k in theirs)


def test_a_file_whose_hash_differs_is_refused_as_torch_hub_does(served, tmp_path):
    server, www = served
    name = publish(www, "w", {"w": torch.ones(2)})
    bad = name.replace(name.split("-")[1][:8], "00000000")
    (www / name).rename(www / bad)
    theirs = pytest.raises(RuntimeError, torch.hub.download_url_to_file, server.url + bad,
                           str(tmp_path / "t.pth"), hash_prefix="00000000",
                           progress=False).value
    ours = pytest.raises(RuntimeError, hub.load_state_dict_from_url, server.url + bad,
                         check_hash=True).value
    assert str(ours) == str(theirs)
    assert list((tmp_path / "home/hub/checkpoints").iterdir()) == []      # nothing kept


def test_offline_names_the_file_and_the_folder(served, monkeypatch):
    server, _ = served
    url = server.url + "resnet18-f37072fd.pth"
    server.close()
    point(monkeypatch, W.ResNet18_Weights.IMAGENET1K_V1, url)
    with pytest.raises(RuntimeError) as err:
        W.build("resnet18", models.resnet18.__wrapped__, W.ResNet18_Weights.DEFAULT, False,
                {})
    text = str(err.value)
    assert "resnet18-f37072fd.pth" in text and torch.hub.get_dir() + "/checkpoints" in text
    assert "TORCH_HOME" in text


def test_densenet_files_with_torchvisions_old_key_names_load(served, monkeypatch):
    server, www = served
    old = lambda k: re.sub(r"(denselayer\d+\.(?:norm|relu|conv))([12])\.", r"\1.\2.", k)  # noqa: E731
    # torchvision's files predate BatchNorm's num_batches_tracked, too
    state = {k: v for k, v in torch_state(models.densenet121, rename=old).items()
             if not k.endswith("num_batches_tracked")}
    assert any(".norm.1." in k for k in state)
    name = publish(www, "densenet121", state)
    point(monkeypatch, W.DenseNet121_Weights.IMAGENET1K_V1, server.url + name)
    model = W.build("densenet121", models.densenet121.__wrapped__, "DenseNet121_Weights.DEFAULT",
                    False, {})
    key = "features.denseblock1.denselayer1.norm1.weight"
    assert np.array_equal(model.state_dict()[key].numpy(), state[old(key)].numpy())


def test_googlenet_takes_the_aux_heads_and_input_transform_torchvision_gives_it(served,
                                                                                monkeypatch):
    server, www = served
    state = torch_state(models.googlenet, aux_logits=True, init_weights=True)
    name = publish(www, "googlenet", state)
    point(monkeypatch, W.GoogLeNet_Weights.IMAGENET1K_V1, server.url + name)
    model = W.build("googlenet", models.googlenet.__wrapped__, W.GoogLeNet_Weights.DEFAULT,
                    False, {})
    assert model.transform_input and not model.aux_logits and model.aux1 is None
    with pytest.raises(ValueError, match="'num_classes' expected value 1000 but got 10"):
        W.build("googlenet", models.googlenet.__wrapped__, "IMAGENET1K_V1", False,
                {"num_classes": 10})
    out = model.eval()(tm.randn(1, 3, 64, 64))
    assert out.shape == (1, 1000)


def test_verify_and_lookups_as_torchvision():
    e = W.ResNet50_Weights
    assert e.verify("IMAGENET1K_V2") is e.verify("ResNet50_Weights.IMAGENET1K_V2") is e.DEFAULT
    assert e.verify(None) is None and repr(e.DEFAULT) == "ResNet50_Weights.IMAGENET1K_V2"
    with pytest.raises(TypeError, match="expected ResNet50_Weights but received "
                                        "ResNet18_Weights"):
        e.verify(W.ResNet18_Weights.DEFAULT)
    assert W.get_weight("VGG16_BN_Weights.IMAGENET1K_V1").url.endswith("vgg16_bn-6c64b313.pth")
    assert W.get_model_weights("resnet50") is e and W.get_model_weights(models.resnet50) is e
    member, message = W.legacy("resnet50")
    assert member is e.IMAGENET1K_V1 and "weights=ResNet50_Weights.IMAGENET1K_V1" in message


def test_a_weights_member_is_taken_as_given_without_a_warning(served, monkeypatch):
    # fast_neural_style's vgg16(weights=VGG16_Weights.IMAGENET1K_V1): a member was taken for
    # the old pretrained=True, warned, and any member (ResNet50's V2 too) loaded V1's file
    server, www = served
    state = torch_state(models.squeezenet1_1)
    name = publish(www, "squeezenet1_1", state)
    point(monkeypatch, W.SqueezeNet1_1_Weights.IMAGENET1K_V1, server.url + name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = models.squeezenet1_1(weights=W.SqueezeNet1_1_Weights.IMAGENET1K_V1)
    assert all(np.array_equal(v.numpy(), state[k].numpy()) for k, v in model.state_dict().items())
    url = server.url + "resnet50-11ad3fa6.pth"
    server.close()
    point(monkeypatch, W.ResNet50_Weights.IMAGENET1K_V2, url)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeError, match="resnet50-11ad3fa6.pth"):
            models.resnet50(weights=W.ResNet50_Weights.IMAGENET1K_V2)
