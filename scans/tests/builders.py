"""Test files built in memory: small rasters, and DICOM OPT volumes made from real Kermany JPEGs."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

OPT_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.77.1.5.4"
SC_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.7"


def png_bytes(seed: int = 0, size=(64, 48), mode="L") -> bytes:
    rng = np.random.default_rng(seed)
    array = rng.integers(0, 255, size=(size[1], size[0]) + ((3,) if mode == "RGB" else ()), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def raster_bytes(fmt: str, seed: int = 0, size=(64, 48), mode="L", **save_kwargs) -> bytes:
    rng = np.random.default_rng(seed)
    array = rng.integers(0, 255, size=(size[1], size[0]) + ((3,) if mode == "RGB" else ()), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **save_kwargs)
    return buffer.getvalue()


def _base_dataset(
    sop_class: str,
    *,
    patient_id="MRN-4711",
    name="Mustermann^Erika",
    birth="19600314",
    sex="F",
    laterality="R",
    study_uid=None,
) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.preamble = b"\x00" * 128
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.FrameOfReferenceUID = generate_uid()
    ds.PatientName = name
    ds.PatientID = patient_id
    ds.PatientBirthDate = birth
    ds.PatientSex = sex
    ds.PatientAge = "064Y"
    ds.OtherPatientIDs = "OTHER-1"
    ds.PatientAddress = "Musterstrasse 1, Berlin"
    ds.AccessionNumber = "ACC123"
    ds.StudyID = "STUDY9"
    ds.StudyDate = "20240301"
    ds.StudyTime = "101500"
    ds.SeriesDate = "20240301"
    ds.ContentDate = "20240301"
    ds.ContentTime = "101502"
    ds.AcquisitionDateTime = "20240301101501"
    ds.ReferringPhysicianName = "Doctor^Referring"
    ds.InstitutionName = "Augenklinik Test"
    ds.StationName = "OCT-STATION-1"
    ds.OperatorsName = "Operator^Olga"
    ds.DeviceSerialNumber = "SN-0042"
    ds.StudyDescription = "OCT macula Mustermann"
    ds.SeriesDescription = "Volume"
    ds.ImageComments = "patient was tired"
    ds.Modality = "OPT" if sop_class == OPT_SOP_CLASS else "OT"
    ds.Manufacturer = "TestVendor"
    ds.ManufacturerModelName = "OCT-3000"
    ds.ImageLaterality = laterality
    ds.add_new(0x00091010, "LO", "private vendor data")  # a private tag (creator missing on purpose below)
    ds.add_new(0x00090010, "LO", "VENDOR PRIVATE")
    return ds


def opt_volume_bytes(
    jpeg_paths: list[Path], *, frames: int | None = None, study_uid: str | None = None, **identity
) -> bytes:
    """A real-looking OPT volume: Kermany B-scans stacked as frames (resized to the first one)."""
    images = [Image.open(p).convert("L") for p in jpeg_paths[: frames or len(jpeg_paths)]]
    size = images[0].size
    stack = np.stack([np.asarray(im.resize(size)) for im in images]).astype(np.uint8)
    ds = _base_dataset(OPT_SOP_CLASS, study_uid=study_uid, **identity)
    ds.NumberOfFrames = stack.shape[0]
    ds.Rows, ds.Columns = int(stack.shape[1]), int(stack.shape[2])
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing = [0.0039, 0.0113]
    measures.SliceThickness = 0.12
    shared.PixelMeasuresSequence = Sequence([measures])
    anatomy = Dataset()
    anatomy.FrameLaterality = identity.get("laterality", "R")
    shared.FrameAnatomySequence = Sequence([anatomy])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    ds.PixelData = stack.tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def secondary_capture_bytes(*, rows=32, columns=40, **identity) -> bytes:
    ds = _base_dataset(SC_SOP_CLASS, **identity)
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelData = (np.arange(rows * columns, dtype=np.uint16) % 4096).tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def dicom_variant(mutate, *, sop_class: str = SC_SOP_CLASS) -> bytes:
    """A small Secondary Capture, changed by ``mutate(ds)`` before writing (for the bad-input corpus)."""
    ds = _base_dataset(sop_class)
    ds.Rows, ds.Columns = 16, 16
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(range(256))
    mutate(ds)
    buffer = io.BytesIO()
    if "TransferSyntaxUID" in ds.file_meta:
        ds.save_as(buffer, enforce_file_format=False)
    else:
        ds.save_as(buffer, enforce_file_format=False, implicit_vr=True, little_endian=True)
    return buffer.getvalue()


TODAY = dt.date(2024, 3, 1)
