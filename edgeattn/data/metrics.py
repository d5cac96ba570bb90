"""Task metrics live on the device side (`edgeattn.verify.metrics`: verify's task-level parity needs them with
numpy only); training and the precision bounds keep importing them from here."""

from ..verify.metrics import __all__, confusion_matrix, epe, mean_iou, pixel_accuracy, psnr, ssim  # noqa: F401
