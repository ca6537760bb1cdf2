"""unet_studio: paint a few labels on a microscopy stack, train a U-Net live, export masks."""

__version__ = "0.1.0"
