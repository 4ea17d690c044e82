using OpenCvSharp;

namespace MovingImages.Imaging;

/// <summary>Reading and writing image files with clear errors; writes are atomic (temp file, then rename).</summary>
public static class ImageFiles
{
    /// <summary>Reads an image as 8-bit BGR.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">The file is not an image OpenCV can decode.</exception>
    public static Mat Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Image not found: {path}", path);
        var mat = Cv2.ImRead(path, ImreadModes.Color);
        if (mat.Empty())
        {
            mat.Dispose();
            throw new InvalidDataException($"{path}: not an image OpenCV can decode (expected JPEG, PNG, BMP, TIFF, WebP…; {new FileInfo(path).Length:N0} bytes)");
        }
        return mat;
    }

    /// <summary>
    /// Why a file that decodes may still be damaged, or null: a JPEG whose compressed data ends before its end-of-image
    /// marker (cut short in a download or copy) decodes with its lower part grey, and libjpeg only says "Premature end
    /// of JPEG file" on stderr.
    /// </summary>
    public static string? Damage(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8) return null; // not a JPEG
        // The last start-of-scan (FF DA) must be followed by an end-of-image (FF D9): inside entropy-coded data a 0xFF is
        // always followed by 0x00 or a restart marker, so FF D9 there can only be the end marker. (EXIF thumbnails carry
        // their own SOS and EOI earlier in the file.)
        int sos = -1;
        for (int i = bytes.Length - 2; i >= 2; i--)
            if (bytes[i] == 0xFF && bytes[i + 1] == 0xDA) { sos = i; break; }
        if (sos < 0) return $"{path}: a JPEG without image data (no start-of-scan marker)";
        for (int i = sos + 2; i < bytes.Length - 1; i++)
            if (bytes[i] == 0xFF && bytes[i + 1] == 0xD9) return null;
        return $"{path}: the JPEG ends before its end marker ({bytes.Length:N0} bytes; cut short?): the lower part of the image is missing (grey)";
    }

    /// <summary>Writes <paramref name="image"/> to <paramref name="path"/> (format from the extension) without ever leaving a partial file there.</summary>
    public static void Write(string path, Mat image, params int[] encodeParams)
    {
        if (Path.GetExtension(path).Length == 0) throw new ArgumentException($"{path}: give the file an extension (.jpg, .png…) so the format is known");
        IO.AtomicFile.Write(path, tmp =>
        {
            if (!Cv2.ImWrite(tmp, image, encodeParams)) throw new IOException($"{path}: OpenCV could not encode the image as {Path.GetExtension(path)}");
        });
    }

    /// <summary>Encodes an image as PNG bytes.</summary>
    public static byte[] ToPng(Mat image)
    {
        Cv2.ImEncode(".png", image, out var bytes);
        return bytes;
    }
}
