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
