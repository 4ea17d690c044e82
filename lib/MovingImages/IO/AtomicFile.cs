namespace MovingImages.IO;

/// <summary>
/// Writes files so that the target is either the old file or the complete new one, never half of either: the content
/// goes to a temporary file in the same folder, which is then renamed over the target. Temporary files of killed runs
/// (their process gone) are removed by the next write of the same target.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Calls <paramref name="write"/> with a temporary path beside <paramref name="path"/> (same extension, so format-sniffing
    /// writers such as OpenCV's work), then moves it into place. The temporary file is removed if writing fails.
    /// </summary>
    public static void Write(string path, Action<string> write)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        StaleTempFiles.Remove(full, $".tmp{Path.GetExtension(full)}"); // left by killed runs
        string tmp = Path.Combine(dir, $".{Path.GetFileNameWithoutExtension(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp{Path.GetExtension(full)}");
        try
        {
            write(tmp);
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
