"""The two reference networks of ../shared/docs/MODELS.md, as PyTorch modules.

Shared by the training program (weights/train.py), the ONNX export
(weights/export.py) and the PyTorch reference tests (tests/reference).
Module names follow the Keras layer names of the tutorials (conv2d, conv2d_1, ...),
so the exported ONNX tensors can carry those names: the output of each conv's ReLU
is called like the Keras layer ("conv2d_3"), as Keras' conv layers include their
activation.
"""
from collections import OrderedDict

import torch
from torch import nn

FASHION_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CIFAR10_LABELS = ["airplane", "automobile", "bird", "cat", "deer",
                  "dog", "frog", "horse", "ship", "truck"]


def _conv(name, cin, cout, padding):
    return [(name, nn.Conv2d(cin, cout, 3, padding=padding)),
            (name + "_relu", nn.ReLU())]


class FashionCNN(nn.Sequential):
    """Fashion-MNIST CNN explained with CAM (Zhou et al. 2016).

    1x28x28 -> conv16 -> pool -> conv32 -> pool -> conv64 -> pool(floor) -> conv128
    [conv2d_3, the CAM layer, 128x3x3] -> global average pool -> dense 10 (logits).
    98,442 parameters, about 2.58 M multiply-adds per image.
    """
    input_shape = (1, 28, 28)
    labels = FASHION_LABELS
    cam_layer = "conv2d_3"

    def __init__(self):
        layers = []
        layers += _conv("conv2d", 1, 16, 1)
        layers += [("max_pooling2d", nn.MaxPool2d(2))]
        layers += _conv("conv2d_1", 16, 32, 1)
        layers += [("max_pooling2d_1", nn.MaxPool2d(2))]
        layers += _conv("conv2d_2", 32, 64, 1)
        layers += [("max_pooling2d_2", nn.MaxPool2d(2))]
        layers += _conv("conv2d_3", 64, 128, 1)
        layers += [("global_average_pooling2d", nn.AdaptiveAvgPool2d(1)),
                   ("flatten", nn.Flatten()),
                   ("dense", nn.Linear(128, 10))]
        super().__init__(OrderedDict(layers))


class Cifar10CNN(nn.Sequential):
    """CIFAR-10 CNN explained with Grad-CAM (Selvaraju et al. 2017).

    3x32x32 -> conv32 (valid) -> conv128 -> pool -> drop -> conv64 -> pool -> drop
    -> conv64 -> conv32 -> drop -> conv32 -> conv16 -> pool -> BN -> conv32
    -> conv16 [conv2d_8, the Grad-CAM layer, 16x3x3] -> pool -> BN -> flatten
    -> dense128 -> dense64 -> drop -> dense10 (logits). About 54 M multiply-adds.
    """
    input_shape = (3, 32, 32)
    labels = CIFAR10_LABELS
    cam_layer = "conv2d_8"

    def __init__(self):
        layers = []
        layers += _conv("conv2d", 3, 32, 0)
        layers += _conv("conv2d_1", 32, 128, 1)
        layers += [("max_pooling2d", nn.MaxPool2d(2)), ("dropout", nn.Dropout(0.25))]
        layers += _conv("conv2d_2", 128, 64, 1)
        layers += [("max_pooling2d_1", nn.MaxPool2d(2)), ("dropout_1", nn.Dropout(0.25))]
        layers += _conv("conv2d_3", 64, 64, 1)
        layers += _conv("conv2d_4", 64, 32, 1)
        layers += [("dropout_2", nn.Dropout(0.25))]
        layers += _conv("conv2d_5", 32, 32, 1)
        layers += _conv("conv2d_6", 32, 16, 1)
        layers += [("max_pooling2d_2", nn.MaxPool2d(2)),
                   ("batch_normalization", nn.BatchNorm2d(16))]
        layers += _conv("conv2d_7", 16, 32, 1)
        layers += _conv("conv2d_8", 32, 16, 1)
        layers += [("max_pooling2d_3", nn.MaxPool2d(2)),
                   ("batch_normalization_1", nn.BatchNorm2d(16)),
                   ("flatten", nn.Flatten()),
                   ("dense", nn.Linear(16, 128)), ("dense_relu", nn.ReLU()),
                   ("dense_1", nn.Linear(128, 64)), ("dense_1_relu", nn.ReLU()),
                   ("dropout_3", nn.Dropout(0.5)),
                   ("dense_2", nn.Linear(64, 10))]
        super().__init__(OrderedDict(layers))


NETWORKS = {"fashion-mnist": FashionCNN, "cifar10": Cifar10CNN}


def build(name):
    """A fresh (untrained) network by its short name."""
    try:
        return NETWORKS[name]()
    except KeyError:
        raise SystemExit(f"unknown network {name!r}; known: {', '.join(NETWORKS)}")


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


if __name__ == "__main__":
    for name, cls in NETWORKS.items():
        m = cls()
        y = m.eval()(torch.zeros(1, *cls.input_shape))
        print(f"{name}: {count_parameters(m)} parameters, output {tuple(y.shape)}")
