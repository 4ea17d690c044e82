#if MOVINGIMAGES_NOTEBOOKS // the same source, compiled into the notebook runner too (it does not reference this library)
namespace MovingImages.Notebooks.IO;
#else
namespace MovingImages.IO;
#endif

/// <summary>
/// Writes files so that the target is either the old file or the complete new one, never half of either: the content
/// goes to a temporary file in the same folder, which is then renamed over the target. Temporary files of killed runs
/// (their process gone) are removed by the next write of the same target. The one place the project does this.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Calls <paramref name="write"/> with a temporary path beside <paramref name="path"/> (same extension, so format-sniffing
    /// writers such as OpenCV's work), then moves it into place. The temporary file is removed if writing fails.
    /// </summary>
    public static void Write(string path, Action<string> write)
    {
        using var pending = Begin(path);
        write(pending.TempPath);
        pending.Commit();
    }

    /// <summary>Writes <paramref name="text"/> (UTF-8, no byte-order mark) atomically.</summary>
    public static void WriteText(string path, string text) =>
        Write(path, tmp => File.WriteAllText(tmp, text, new System.Text.UTF8Encoding(false)));

    /// <summary>
    /// Starts a file written over time (a video, a log of a run): write to <see cref="PendingFile.TempPath"/>, then
    /// <see cref="PendingFile.Commit"/>; disposing without committing removes it. <paramref name="marker"/> names the
    /// temporary file (<c>.name.PID.id.marker.ext</c>) so a user who sees one knows what it is.
    /// </summary>
    public static PendingFile Begin(string path, string marker = "tmp")
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        string ext = Path.GetExtension(full);
        StaleTempFiles.Remove(full, $".{marker}{ext}"); // left by killed runs
        return new PendingFile(full, Path.Combine(dir, $".{Path.GetFileNameWithoutExtension(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.{marker}{ext}"));
    }
}

/// <summary>A file being written beside its target (see <see cref="AtomicFile.Begin"/>).</summary>
public sealed class PendingFile : IDisposable
{
    internal PendingFile(string target, string tempPath)
    {
        Target = target;
        TempPath = tempPath;
    }

    /// <summary>Where the file goes when committed.</summary>
    public string Target { get; }
    /// <summary>Where to write it meanwhile.</summary>
    public string TempPath { get; }
    /// <summary>Whether it was moved into place.</summary>
    public bool Committed { get; private set; }

    /// <summary>Moves the written file over <paramref name="to"/> (default <see cref="Target"/>) in one rename.</summary>
    public void Commit(string? to = null)
    {
        if (Committed) throw new InvalidOperationException($"{Target} was already committed");
        File.Move(TempPath, to == null ? Target : Path.GetFullPath(to), overwrite: true);
        Committed = true;
    }

    /// <summary>Removes the temporary file unless it was committed.</summary>
    public void Dispose()
    {
        if (!Committed && File.Exists(TempPath)) File.Delete(TempPath);
    }
}
