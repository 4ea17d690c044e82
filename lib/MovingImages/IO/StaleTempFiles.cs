#if MOVINGIMAGES_NOTEBOOKS // the same source, compiled into the notebook runner too (it does not reference this library)
namespace MovingImages.Notebooks.IO;
#else
namespace MovingImages.IO;
#endif

/// <summary>
/// Temporary files that carry their writer's process id (<c>.name.PID….suffix</c>): when a run is killed (SIGKILL, power
/// loss) they stay behind; the next run that writes the same target removes those whose process is gone.
/// </summary>
public static class StaleTempFiles
{
    /// <summary>
    /// Deletes <c>.stem.PID*suffix</c> files beside <paramref name="target"/> (stem: its name without extension) whose
    /// process PID no longer runs. Files of live processes, including this one, are left alone.
    /// </summary>
    public static int Remove(string target, string suffix)
    {
        string full = Path.GetFullPath(target);
        string dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) return 0;
        string prefix = $".{Path.GetFileNameWithoutExtension(full)}.";
        int removed = 0;
        foreach (var file in Directory.EnumerateFiles(dir, prefix + "*" + suffix))
        {
            string middle = Path.GetFileName(file)[prefix.Length..^suffix.Length];
            int dot = middle.IndexOf('.');
            if (!int.TryParse(dot < 0 ? middle : middle[..dot], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pid)) continue;
            if (pid == Environment.ProcessId || Alive(pid)) continue;
            try { File.Delete(file); removed++; }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return removed;
    }

    static bool Alive(int pid)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }
}
