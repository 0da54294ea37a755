import { query } from 'chdb';
try { console.log(query("SELCT count() FROM numbers(3)", "CSV")); } catch (e) { console.log('ERR', e.message); }
try { console.log(query("SELEC 1", "CSV")); } catch (e) { console.log('ERR', e.message); }
